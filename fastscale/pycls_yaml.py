"""Compatibility names for the pycls config reader and writer, which now live in ``fastscale.pycls``.

Kept so callers written against this module (the profile route, older tests) work unchanged
until they call ``fastscale.pycls`` directly; new code should import that package.
"""

from __future__ import annotations

from fastscale.pycls import is_pycls, read_config, read_text
from fastscale.pycls.writer import scaled_config, to_text

__all__ = ["is_pycls", "from_yaml", "from_config", "to_config", "to_yaml"]


def from_yaml(text: str, field: str = "spec") -> tuple[object, int]:
    """(spec, training resolution) from a pycls YAML config."""
    source = read_text(text, field)
    return source.spec, source.train_size


def from_config(data: dict, field: str = "spec") -> tuple[object, int]:
    source = read_config(data, field)
    return source.spec, source.train_size


def to_config(arch, resolution: int) -> dict:
    """A config for ``arch`` alone (no source file): TEST.IM_SIZE at ImageNet's 256/224 ratio."""
    return scaled_config(arch, resolution, round(resolution * 256 / 224 / 4) * 4)


def to_yaml(arch, resolution: int) -> str:
    header = "# Exported by fastscale: a pycls config for the scaled model (train it with pycls).\n"
    return to_text(to_config(arch, resolution), header)
