"""pycls-style YAML configs: read one as a custom base model, write any plan as one.

So a training team can take a scaled model straight to the reference code base:
``MODEL.TYPE`` anynet / regnet / effnet with the ``ANYNET``, ``REGNET`` or ``EN`` section,
``MODEL.NUM_CLASSES``, ``MODEL.ACTIVATION_FUN``, and ``TRAIN.IM_SIZE`` as the resolution.
``TEST.IM_SIZE`` is written with ImageNet's 256/224 resize-then-crop ratio (what pycls uses).
"""

from __future__ import annotations

import yaml

from fastscale.errors import ScalingError
from fastscale.families import AnyNetSpec, EffNetSpec, RegNetSpec, spec_from_dict

ANYNET_KEYS = {"STEM_TYPE": "stem_type", "STEM_W": "stem_w", "BLOCK_TYPE": "block_type", "DEPTHS": "depths",
               "WIDTHS": "widths", "STRIDES": "strides", "BOT_MULS": "bot_muls", "GROUP_WS": "group_ws",
               "HEAD_W": "head_w"}
REGNET_KEYS = {"DEPTH": "depth", "W0": "w0", "WA": "wa", "WM": "wm", "GROUP_W": "group_w", "BOT_MUL": "bot_mul",
               "SE_ON": "se_on", "SE_R": "se_r", "STEM_W": "stem_w", "STRIDE": "stride", "STEM_TYPE": "stem_type",
               "BLOCK_TYPE": "block_type", "HEAD_W": "head_w"}
EN_KEYS = {"STEM_W": "stem_w", "DEPTHS": "depths", "WIDTHS": "widths", "EXP_RATIOS": "exp_ratios",
           "KERNELS": "kernels", "STRIDES": "strides", "SE_R": "se_r", "HEAD_W": "head_w"}
SECTIONS = {"anynet": ("ANYNET", ANYNET_KEYS), "regnet": ("REGNET", REGNET_KEYS), "effnet": ("EN", EN_KEYS)}


def is_pycls(data) -> bool:
    return isinstance(data, dict) and "MODEL" in data


def from_yaml(text: str, field: str = "spec") -> tuple[object, int | None]:
    """(spec, resolution or None) from a pycls YAML config."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ScalingError(field, f"is not valid YAML ({str(exc).splitlines()[0]})", "a pycls config") from None
    return from_config(data, field)


def from_config(data: dict, field: str = "spec") -> tuple[object, int | None]:
    if not is_pycls(data):
        raise ScalingError(field, "is not a pycls config (no MODEL section)", "MODEL.TYPE with its ANYNET/REGNET/EN section")
    model = data.get("MODEL") or {}
    family = str(model.get("TYPE", "")).lower()
    if family not in SECTIONS:
        raise ScalingError(f"{field}.MODEL.TYPE", f"unsupported model type {model.get('TYPE')!r}", "anynet, regnet, effnet")
    section, keys = SECTIONS[family]
    src = data.get(section) or {}
    unknown = sorted(set(src) - set(keys) - {"SE_ON", "SE_R", "DC_RATIO", "DROPOUT_RATIO"})
    if unknown:
        raise ScalingError(f"{field}.{section}.{unknown[0]}", "is not a setting fastscale reads", ", ".join(sorted(keys)))
    spec = {"family": family, **{keys[k]: v for k, v in src.items() if k in keys}}
    if family == "anynet":
        spec["se_r"] = src.get("SE_R", 0.25) if src.get("SE_ON") else 0.0
        spec.pop("se_on", None)
    if "NUM_CLASSES" in model:
        spec["num_classes"] = model["NUM_CLASSES"]
    if "ACTIVATION_FUN" in model:
        act = str(model["ACTIVATION_FUN"]).lower()
        spec["activation"] = "silu" if act == "swish" else act
    resolution = (data.get("TRAIN") or {}).get("IM_SIZE")
    return spec_from_dict(spec, field), resolution


def to_config(arch, resolution: int) -> dict:
    family = arch.family
    section, keys = SECTIONS[family]
    values = arch.to_dict()
    body = {k: values[v] for k, v in keys.items() if v in values}
    if isinstance(arch, AnyNetSpec):
        body["SE_ON"] = arch.se_r > 0
        body["SE_R"] = arch.se_r if arch.se_r > 0 else 0.25
    if isinstance(arch, (AnyNetSpec, RegNetSpec, EffNetSpec)):
        model = {"TYPE": family, "NUM_CLASSES": arch.num_classes, "ACTIVATION_FUN": arch.activation}
    test_size = round(resolution * 256 / 224 / 4) * 4
    return {"MODEL": model, section: body, "TRAIN": {"IM_SIZE": resolution}, "TEST": {"IM_SIZE": test_size}}


def to_yaml(arch, resolution: int) -> str:
    header = "# Exported by fastscale: a pycls config for the scaled model (train it with pycls).\n"
    return header + yaml.safe_dump(to_config(arch, resolution), sort_keys=False)
