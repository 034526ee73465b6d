"""A plan -> the pycls config that trains it: the source file with only the model and image sizes changed.

For a plan read from a pycls file, every other setting of that file (OPTIM, BN, TRAIN.BATCH_SIZE,
TRAIN.DATASET, TEST, EN.DC_RATIO, ...) is written back as it was, and ``TEST.IM_SIZE`` is the
file's own test size scaled as pycls's ``scale_model()`` scales it: ``round(test * r / 4) * 4``,
``r`` the resolution factor. A zoo model or a JSON spec has no such file: its config is a full
pycls config, every key pycls has at its default (fastscale.pycls.defaults), with the model,
ImageNet as the train and test dataset (pycls's default dataset is empty: it could not train),
``TRAIN.IM_SIZE``, and ``TEST.IM_SIZE`` at ImageNet's 256/224 resize-then-crop ratio; so
``tools/run_net.py --mode train --cfg`` trains it as it is.
"""

from __future__ import annotations

import copy

import yaml

from fastscale.families import AnyNetSpec, EffNetSpec, RegNetSpec
from fastscale.pycls.buildable import check_exportable
from fastscale.pycls.defaults import SECTIONS, TOP_LEVEL
from fastscale.pycls.merge import effective
from fastscale.pycls.models import ACTIVATIONS

SECTION = {"anynet": "ANYNET", "regnet": "REGNET", "effnet": "EN"}
FROM_OTHER_TYPE = {"regnet": ("REGNET",), "resnet": ("RESNET",)}  # sections a converted model leaves behind


def arch_section(arch) -> dict:
    """The model section (``ANYNET``, ``REGNET`` or ``EN``) that makes pycls build ``arch``."""
    if isinstance(arch, AnyNetSpec):
        body = {"STEM_TYPE": arch.stem_type, "STEM_W": arch.stem_w, "BLOCK_TYPE": arch.block_type,
                "DEPTHS": list(arch.depths), "WIDTHS": list(arch.widths), "STRIDES": list(arch.strides),
                "BOT_MULS": list(arch.bot_muls), "GROUP_WS": list(arch.group_ws), "HEAD_W": arch.head_w,
                "SE_ON": arch.se_r > 0}
        return {**body, "SE_R": arch.se_r} if arch.se_r > 0 else body
    if isinstance(arch, EffNetSpec):
        return {"STEM_W": arch.stem_w, "DEPTHS": list(arch.depths), "WIDTHS": list(arch.widths),
                "EXP_RATIOS": list(arch.exp_ratios), "KERNELS": list(arch.kernels), "STRIDES": list(arch.strides),
                "SE_R": arch.se_r, "HEAD_W": arch.head_w}
    if isinstance(arch, RegNetSpec):
        return {"DEPTH": arch.depth, "W0": arch.w0, "WA": arch.wa, "WM": arch.wm, "GROUP_W": arch.group_w,
                "BOT_MUL": arch.bot_mul, "SE_ON": arch.se_on, "SE_R": arch.se_r, "STEM_W": arch.stem_w,
                "STRIDE": arch.stride, "STEM_TYPE": arch.stem_type, "BLOCK_TYPE": arch.block_type,
                "HEAD_W": arch.head_w}
    raise TypeError(f"no pycls section for {type(arch).__name__}")


def scaled_config(arch, train_size: int, test_size: int, source: dict | None = None) -> dict:
    """``source`` (or an empty config) with the model of ``arch`` and these image sizes."""
    check_exportable(arch)
    family, section = arch.family, SECTION[arch.family]
    source = source or {}
    old_type = effective(source)["MODEL.TYPE"] if source else family
    dropped = FROM_OTHER_TYPE.get(old_type, ()) if old_type != family else ()
    out: dict = {}
    for key, value in source.items():
        if key not in dropped:
            out[key] = copy.deepcopy(value)
        if key == "MODEL":
            out.setdefault(section, {})  # a new model section goes right after MODEL
    model = _model(out.get("MODEL") or {}, arch, old_type)
    out = {**out, "MODEL": model} if "MODEL" in out else {"MODEL": model, **out}
    out[section] = {**(out.get(section) or {}), **arch_section(arch)}
    out["TRAIN"] = {**(out.get("TRAIN") or {}), "IM_SIZE": train_size}
    out["TEST"] = {**(out.get("TEST") or {}), "IM_SIZE": test_size}
    return out


def _model(model: dict, arch, old_type: str) -> dict:
    model = dict(model)
    if old_type == "resnet":
        model.pop("DEPTH", None)  # only pycls's ResNet reads it
    activation = model.get("ACTIVATION_FUN")
    if not isinstance(activation, str) or ACTIVATIONS.get(activation.lower()) != arch.activation:
        activation = arch.activation  # keep the file's spelling (swish, SiLU) when it means the same
    return {**model, "TYPE": arch.family, "NUM_CLASSES": arch.num_classes, "ACTIVATION_FUN": activation}


def scaled_test_size(plan) -> int:
    """``TEST.IM_SIZE`` of the scaled model: pycls's scaler on the source's own test size."""
    source = plan.base.source
    if source is None:
        return round(plan.resolution * 256 / 224 / 4) * 4
    test = effective(source)["TEST.IM_SIZE"]
    if plan.rounding == "pycls":
        r = plan.strategy.factors(plan.requested_factor)["r"]
    else:
        r = plan.resolution / plan.base.resolution
    return round(test * r / 4) * 4


def full_defaults(dataset: str = "imagenet") -> dict:
    """Every pycls key at its default, with ``dataset`` to train and test on: the base of the
    config of a model that came from no pycls file."""
    config = {section: copy.deepcopy(keys) for section, keys in SECTIONS.items()}
    config.update(copy.deepcopy(TOP_LEVEL))
    config["TRAIN"]["DATASET"] = config["TEST"]["DATASET"] = dataset
    return config


def plan_config(plan) -> dict:
    source = plan.base.source if plan.base.source is not None else full_defaults()
    return scaled_config(plan.arch, plan.resolution, scaled_test_size(plan), source)


class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):
    """Block mappings with ``[a, b]`` lists: the layout of pycls's own config files."""


_Dumper.add_representer(list, lambda dumper, value: dumper.represent_sequence(
    "tag:yaml.org,2002:seq", value, flow_style=True))


def to_text(config: dict, header: str = "") -> str:
    return header + yaml.dump(config, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=4096)


def plan_header(plan) -> str:
    cx = plan.complexity
    return (f"# Scaled by fastscale from {plan.base.name}: factor {plan.requested_factor:g}, strategy "
            f"{plan.strategy.name}, rounding {plan.rounding}.\n"
            f"# flops {cx['flops']}, params {cx['params']}, acts {cx['acts']} at {plan.resolution} px. "
            f"Train it with pycls: tools/run_net.py --mode train --cfg <this file>\n")


def plan_yaml(plan) -> str:
    """The scaled pycls config of ``plan`` as YAML text: what the CLI writes and the API serves."""
    return to_text(plan_config(plan), plan_header(plan))
