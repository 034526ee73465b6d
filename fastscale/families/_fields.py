"""Field checks shared by the family specs: strict types, bounds, and errors naming the field."""

from __future__ import annotations

from dataclasses import fields

from fastscale.errors import ScalingError, brief, finite_number

# Bounds on specs: wide enough for every plan the scaler makes from a zoo model at factors up to
# 1024, so those plans round-trip (ResNeXt-152 at d x1024 has 54,506 blocks, 39,245 in one stage;
# RegNetY-32GF at w x1024 a width of 152,656); tests/core/test_spec_bounds.py checks it. What a
# worker may actually build is limited by the service's own settings (see ``total_blocks``).
MAX_STAGES = 16
MAX_BLOCKS = 1 << 16  # blocks in all (a RegNet's depth); each block is a handful of torch modules
MAX_DEPTH = MAX_BLOCKS
MAX_WIDTH = 1 << 18
MAX_CLASSES = 100_000


def as_int(value, field: str, lo: int, hi: int) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ScalingError(field, f"must be an integer, got {brief(value)}", f"{lo}..{hi}")
    if not lo <= value <= hi:
        raise ScalingError(field, f"{brief(value)} is out of range", f"{lo}..{hi}")
    return value


def as_float(value, field: str, lo: float, hi: float) -> float:
    if not finite_number(value):
        raise ScalingError(field, f"must be a finite number, got {brief(value)}", f"{lo}..{hi}")
    if not lo <= value <= hi:
        raise ScalingError(field, f"{brief(value)} is out of range", f"{lo}..{hi}")
    return float(value)


def as_choice(value, field: str, choices) -> str:
    if value not in choices:
        raise ScalingError(field, f"unknown value {brief(value)}", ", ".join(map(str, choices)))
    return value


def as_list(value, field: str, n: int | None, check) -> tuple:
    """A per-stage list: 1..MAX_STAGES entries (exactly ``n`` when given), each passed to ``check``."""
    if not isinstance(value, (list, tuple)) or not 1 <= len(value) <= MAX_STAGES:
        raise ScalingError(field, f"must be a list of 1..{MAX_STAGES} values, got {brief(value)}")
    if n is not None and len(value) != n:
        raise ScalingError(field, f"has {len(value)} entries but the spec has {n} stages", f"{n} values, one per stage")
    return tuple(check(v, f"{field}[{i}]") for i, v in enumerate(value))


def ints(lo: int, hi: int):
    return lambda v, field: as_int(v, field, lo, hi)


def floats(lo: float, hi: float):
    return lambda v, field: as_float(v, field, lo, hi)


def as_json(spec) -> dict:
    """A spec's JSON form: its family, then its fields in order, tuples as lists. What
    ``dataclasses.asdict`` gave, without its deep copies (every field is an int, float, str or a
    tuple of them), which made up a tenth of a plan's cost."""
    data = {"family": spec.family}
    for name in spec.__dataclass_fields__:
        value = getattr(spec, name)
        data[name] = list(value) if isinstance(value, tuple) else value
    return data


def reject_unknown(data: dict, cls, field: str) -> None:
    known = {fl.name for fl in fields(cls)} | {"family"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ScalingError(f"{field}.{unknown[0]}", "unknown field", ", ".join(sorted(known)))


def required(data: dict, key: str, field: str):
    if key not in data:
        raise ScalingError(f"{field}.{key}", "is required")
    return data[key]


def check_blocks(depths: tuple, field: str) -> None:
    """The total block count, which per-stage bounds alone leave at 16 x MAX_DEPTH."""
    total = sum(depths)
    if total > MAX_BLOCKS:
        raise ScalingError(f"{field}.depths", f"add up to {total} blocks", f"at most {MAX_BLOCKS} blocks in all")


def first_excess(spec) -> tuple[str, int, str] | None:
    """(dimension, value, allowed) of the first dimension of ``spec`` outside the bounds its
    ``from_dict`` enforces, or None: a scaled architecture must still read back as a spec."""
    for name, lo, hi in (("depths", 1, MAX_DEPTH), ("widths", 1, MAX_WIDTH), ("group_ws", 1, MAX_WIDTH)):
        for i, v in enumerate(getattr(spec, name, ())):
            if not lo <= v <= hi:
                return f"{name}[{i}]", v, f"{lo}..{hi}"
    for name, lo in (("stem_w", 1), ("head_w", 0), ("dim", 1)):
        v = getattr(spec, name, lo)
        if not lo <= v <= MAX_WIDTH:
            return name, v, f"{lo}..{MAX_WIDTH}"
    if spec.total_blocks > MAX_BLOCKS:
        return "block count", spec.total_blocks, f"at most {MAX_BLOCKS}"
    return None
