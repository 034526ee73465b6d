"""The network a pycls config describes, as a fastscale spec: anynet, regnet and effnet.

Each reader takes the merged values (``merge.effective``) and builds what pycls builds from them,
refusing, with the key named, exactly where pycls fails: an unknown stem or block name (pycls's
names only, no aliases), a bottleneck without ``BOT_MULS`` or ``GROUP_WS``, an integer list that
holds floats, an effnet whose SE block would have no channels. Per-stage lists are zipped as
pycls zips them: the network has as many stages as the shortest list (no ``STRIDES``, no stages).
Limits that are fastscale's own (bounds, group widths that must divide) keep their messages,
renamed to the pycls key.
"""

from __future__ import annotations

from fastscale.errors import ScalingError
from fastscale.families import spec_from_dict
from fastscale.pycls.bounded import short

ANYNET_STEMS = ("simple_stem_in", "res_stem_in", "res_stem_cifar")
ANYNET_BLOCKS = ("vanilla_block", "res_basic_block", "res_bottleneck_block", "res_bottleneck_linear_block")
BOTTLENECKS = ("res_bottleneck_block", "res_bottleneck_linear_block")
ACTIVATIONS = {"relu": "relu", "silu": "silu", "swish": "silu"}

ANYNET_FIELDS = {"stem_type": "STEM_TYPE", "stem_w": "STEM_W", "block_type": "BLOCK_TYPE", "depths": "DEPTHS",
                 "widths": "WIDTHS", "strides": "STRIDES", "bot_muls": "BOT_MULS", "group_ws": "GROUP_WS",
                 "head_w": "HEAD_W", "se_r": "SE_R"}
REGNET_FIELDS = {"depth": "DEPTH", "w0": "W0", "wa": "WA", "wm": "WM", "group_w": "GROUP_W", "bot_mul": "BOT_MUL",
                 "se_on": "SE_ON", "se_r": "SE_R", "stem_w": "STEM_W", "stride": "STRIDE", "stem_type": "STEM_TYPE",
                 "block_type": "BLOCK_TYPE", "head_w": "HEAD_W"}
EN_FIELDS = {"stem_w": "STEM_W", "depths": "DEPTHS", "widths": "WIDTHS", "exp_ratios": "EXP_RATIOS",
             "kernels": "KERNELS", "strides": "STRIDES", "se_r": "SE_R", "head_w": "HEAD_W"}


def need(values: dict, path: str, field: str):
    """A model key's value; null there makes pycls fail, so it is refused."""
    value = values[path]
    if value is None:
        raise ScalingError(f"{field}.{path}", "is null, and pycls cannot build a model from it", "a value")
    return value


def choice(values: dict, path: str, field: str, allowed) -> str:
    value = need(values, path, field)
    if value not in allowed:
        raise ScalingError(f"{field}.{path}", f"pycls has no {short(value)} here (names are case-sensitive)",
                           ", ".join(allowed))
    return value


def int_list(values: dict, path: str, field: str) -> list:
    """A per-stage list of whole numbers: pycls fails on 2.0 where it loops or sizes a layer."""
    items = need(values, path, field)
    for i, v in enumerate(items):
        if isinstance(v, bool) or not isinstance(v, int):
            raise ScalingError(f"{field}.{path}[{i}]", f"must be an integer, got {short(v)}", "whole numbers")
    return items


def number_list(values: dict, path: str, field: str) -> list:
    """A per-stage list of numbers (bottleneck or expansion ratios)."""
    items = need(values, path, field)
    for i, v in enumerate(items):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ScalingError(f"{field}.{path}[{i}]", f"must be a number, got {short(v)}", "numbers")
    return items


def common(values: dict, field: str) -> dict:
    """activation and num_classes, which every family reads from MODEL."""
    act = str(need(values, "MODEL.ACTIVATION_FUN", field)).lower()
    if act == "gelu":
        raise ScalingError(f"{field}.MODEL.ACTIVATION_FUN", "gelu is not modelled by fastscale", "relu, silu, swish")
    if act not in ACTIVATIONS:
        raise ScalingError(f"{field}.MODEL.ACTIVATION_FUN", f"pycls has no activation {short(act)}",
                           "relu, silu, swish (any case)")
    return {"activation": ACTIVATIONS[act], "num_classes": need(values, "MODEL.NUM_CLASSES", field)}


def validated(spec: dict, field: str, section: str, names: dict):
    """``spec_from_dict``, with any error renamed from the fastscale field to the pycls key."""
    try:
        return spec_from_dict(spec, field)
    except ScalingError as exc:
        raise renamed(exc, field, section, names) from None


def renamed(exc: ScalingError, field: str, section: str, names: dict) -> ScalingError:
    rest = exc.field[len(field) + 1:] if exc.field.startswith(field + ".") else ""
    name, bracket, index = rest.partition("[")
    keys = {**names, "activation": "ACTIVATION_FUN", "num_classes": "NUM_CLASSES"}
    if name not in keys:
        return exc
    where = "MODEL" if name in ("activation", "num_classes") else section
    return ScalingError(f"{field}.{where}.{keys[name]}{bracket}{index}", exc.message, exc.allowed)


def anynet(values: dict, field: str):
    a = lambda key: f"ANYNET.{key}"  # noqa: E731
    block = choice(values, a("BLOCK_TYPE"), field, ANYNET_BLOCKS)
    bottleneck = block in BOTTLENECKS
    lists = {k: int_list(values, a(k), field) for k in ("DEPTHS", "WIDTHS", "STRIDES")}
    lists["BOT_MULS"] = number_list(values, a("BOT_MULS"), field)
    lists["GROUP_WS"] = (int_list if bottleneck else need)(values, a("GROUP_WS"), field)
    # pycls zips the lists; empty BOT_MULS / GROUP_WS stand for one None per depth.
    n = len(lists["DEPTHS"])
    stages = min(len(v) if v or k in ("DEPTHS", "WIDTHS", "STRIDES") else n for k, v in lists.items())
    if stages and bottleneck:
        for key in ("BOT_MULS", "GROUP_WS"):
            if not lists[key]:
                raise ScalingError(f"{field}.{a(key)}", f"is missing, and pycls cannot build a {block} without it",
                                   "one value per stage")
    se_on = need(values, a("SE_ON"), field)
    spec = {"family": "anynet", "stem_type": choice(values, a("STEM_TYPE"), field, ANYNET_STEMS),
            "stem_w": need(values, a("STEM_W"), field), "block_type": block,
            "depths": lists["DEPTHS"][:stages], "widths": lists["WIDTHS"][:stages],
            "strides": lists["STRIDES"][:stages], "head_w": need(values, a("HEAD_W"), field),
            "se_r": need(values, a("SE_R"), field) if se_on else 0.0, **common(values, field)}
    if bottleneck:
        spec.update(bot_muls=lists["BOT_MULS"][:stages], group_ws=lists["GROUP_WS"][:stages])
    return validated(spec, field, "ANYNET", ANYNET_FIELDS)


def regnet(values: dict, field: str):
    spec = {"family": "regnet", **{k: need(values, f"REGNET.{key}", field) for k, key in REGNET_FIELDS.items()},
            **common(values, field)}
    choice(values, "REGNET.STEM_TYPE", field, ANYNET_STEMS)
    choice(values, "REGNET.BLOCK_TYPE", field, ANYNET_BLOCKS)
    # The group-width check runs on the AnyNet the RegNet expands to: name GROUP_W for it.
    return validated(spec, field, "REGNET", {**REGNET_FIELDS, "group_ws": "GROUP_W"})


def effnet(values: dict, field: str):
    lists = {k: int_list(values, f"EN.{k}", field) for k in ("DEPTHS", "WIDTHS", "STRIDES", "KERNELS")}
    lists["EXP_RATIOS"] = number_list(values, "EN.EXP_RATIOS", field)
    stages = min(len(v) for v in lists.values())
    spec = {"family": "effnet", "stem_w": need(values, "EN.STEM_W", field), "se_r": need(values, "EN.SE_R", field),
            "head_w": need(values, "EN.HEAD_W", field), **common(values, field),
            **{k: lists[key][:stages] for k, key in EN_FIELDS.items() if key in lists}}
    return validated(spec, field, "EN", EN_FIELDS)
