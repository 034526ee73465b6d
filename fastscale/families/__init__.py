"""Model families as plain, serialisable, validated specs (AnyNet, RegNet, EfficientNet, ConvNeXt, ViT)."""

from fastscale.families.anynet import AnyNetSpec
from fastscale.families.convnext import ConvNeXtSpec
from fastscale.families.effnet import EffNetSpec
from fastscale.families.regnet import RegNetSpec
from fastscale.families.vit import ViTSpec

FAMILIES = {"anynet": AnyNetSpec, "regnet": RegNetSpec, "effnet": EffNetSpec, "convnext": ConvNeXtSpec,
            "vit": ViTSpec}

__all__ = ["AnyNetSpec", "ConvNeXtSpec", "EffNetSpec", "RegNetSpec", "ViTSpec", "FAMILIES", "spec_from_dict"]


def spec_from_dict(data: dict, field: str = "spec"):
    """Read a spec of any family from its JSON form (``{"family": ..., ...}``)."""
    from fastscale.errors import ScalingError, brief

    if not isinstance(data, dict):
        raise ScalingError(field, "must be a JSON object", "an object with a 'family' key")
    family = data.get("family")
    if not isinstance(family, str) or family not in FAMILIES:
        raise ScalingError(f"{field}.family", f"unknown family {brief(family)}", ", ".join(FAMILIES))
    return FAMILIES[family].from_dict(data, field)
