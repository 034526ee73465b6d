"""Field checks shared by the family specs: strict types, bounds, and errors naming the field."""

from __future__ import annotations

import math
from dataclasses import fields

from fastscale.errors import ScalingError

# Bounds on specs: wide enough for any plan the scaler can produce (factors up to 1024), so every
# plan round-trips; what a worker may actually build is limited by the service's own settings.
MAX_STAGES = 16
MAX_DEPTH = 1 << 15
MAX_WIDTH = 1 << 18
MAX_CLASSES = 100_000


def as_int(value, field: str, lo: int, hi: int) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ScalingError(field, f"must be an integer, got {value!r}", f"{lo}..{hi}")
    if not lo <= value <= hi:
        raise ScalingError(field, f"{value} is out of range", f"{lo}..{hi}")
    return value


def as_float(value, field: str, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ScalingError(field, f"must be a finite number, got {value!r}", f"{lo}..{hi}")
    if not lo <= value <= hi:
        raise ScalingError(field, f"{value} is out of range", f"{lo}..{hi}")
    return float(value)


def as_choice(value, field: str, choices) -> str:
    if value not in choices:
        raise ScalingError(field, f"unknown value {value!r}", ", ".join(map(str, choices)))
    return value


def as_list(value, field: str, n: int | None, check) -> tuple:
    """A per-stage list: 1..MAX_STAGES entries (exactly ``n`` when given), each passed to ``check``."""
    if not isinstance(value, (list, tuple)) or not 1 <= len(value) <= MAX_STAGES:
        raise ScalingError(field, f"must be a list of 1..{MAX_STAGES} values, got {value!r}")
    if n is not None and len(value) != n:
        raise ScalingError(field, f"has {len(value)} entries but the spec has {n} stages", f"{n} values, one per stage")
    return tuple(check(v, f"{field}[{i}]") for i, v in enumerate(value))


def ints(lo: int, hi: int):
    return lambda v, field: as_int(v, field, lo, hi)


def floats(lo: float, hi: float):
    return lambda v, field: as_float(v, field, lo, hi)


def reject_unknown(data: dict, cls, field: str) -> None:
    known = {fl.name for fl in fields(cls)} | {"family"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ScalingError(f"{field}.{unknown[0]}", "unknown field", ", ".join(sorted(known)))


def required(data: dict, key: str, field: str):
    if key not in data:
        raise ScalingError(f"{field}.{key}", "is required")
    return data[key]
