"""Model families as plain, serialisable, validated specs (AnyNet, RegNet, EfficientNet)."""

from fastscale.families.anynet import AnyNetSpec
from fastscale.families.effnet import EffNetSpec
from fastscale.families.regnet import RegNetSpec

FAMILIES = {"anynet": AnyNetSpec, "regnet": RegNetSpec, "effnet": EffNetSpec}

__all__ = ["AnyNetSpec", "EffNetSpec", "RegNetSpec", "FAMILIES", "spec_from_dict"]


def spec_from_dict(data: dict, field: str = "spec"):
    """Read a spec of any family from its JSON form (``{"family": ..., ...}``)."""
    from fastscale.errors import ScalingError, brief

    if not isinstance(data, dict):
        raise ScalingError(field, "must be a JSON object", "an object with a 'family' key")
    family = data.get("family")
    if not isinstance(family, str) or family not in FAMILIES:
        raise ScalingError(f"{field}.family", f"unknown family {brief(family)}", ", ".join(FAMILIES))
    return FAMILIES[family].from_dict(data, field)
