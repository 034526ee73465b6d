"""A scaled architecture -> the timm constructor call that builds exactly it, or why none can.

- Any network equal to one of timm's named models (the catalog's timm entries): that model by
  name, ``timm.create_model(name)``; this is how an unscaled (or resolution-only) RegNet leaves.
- AnyNet with the ResNet stem: ``timm.models.resnet.ResNet`` with ``Bottleneck``, per-stage
  ``layers`` and ``channels``, one ``cardinality`` and ``base_width`` for all stages.
- Other RegNets: timm's ``RegNet`` takes only ``RegNetCfg`` (depth, w0, wa, wm, ...) and generates
  its stages from them, so a scaled RegNet, whose stages are no such progression, is refused.
- EfficientNet: ``timm.models.efficientnet.EfficientNet`` with block strings decoded by timm's own
  ``decode_arch_def``; timm rounds stage and expansion widths to multiples of 8, and computes SE
  widths with ``round`` (fastscale, as pycls: ``int``).
- ConvNeXt: ``timm.models.convnext.ConvNeXt(depths, dims)``; ViT:
  ``timm.models.vision_transformer.VisionTransformer`` (its defaults: class token, 'token' pool,
  qkv bias, no pre-norm, no layer scale), with the family's own ``spec.library()`` kwargs.
"""

from __future__ import annotations

import json
from functools import lru_cache

from fastscale.families import AnyNetSpec, EffNetSpec, spec_from_dict
from fastscale.families.convnext import ConvNeXtSpec
from fastscale.families.vit import ViTSpec
from fastscale.interop import catalog
from fastscale.interop.calls import call, ref
from fastscale.interop.common import Inexpressible, family_kwargs, kept_by_rounding, require

LIB = "timm"


@lru_cache(maxsize=1)
def _by_network() -> dict[str, str]:
    """The JSON of each timm catalog model's network (RegNets expanded) -> its name, shortest first."""
    out: dict[str, str] = {}
    for name in sorted(catalog.entries(LIB), key=lambda n: (len(n), n)):
        spec = spec_from_dict(catalog.entries(LIB)[name]["spec"])
        spec = spec.to_anynet() if hasattr(spec, "to_anynet") else spec
        out.setdefault(json.dumps(spec.to_dict(), sort_keys=True), name)
    return out


def named(arch) -> str | None:
    """The timm model name whose network is exactly ``arch``, if any."""
    return _by_network().get(json.dumps(arch.to_dict(), sort_keys=True))


def recipe(arch) -> tuple[str, dict]:
    """(constructor, kwargs) for ``arch``, or Inexpressible."""
    name = named(arch)
    if name is not None:
        return "timm.create_model", {"model_name": name, "pretrained": False, "num_classes": arch.num_classes}
    if isinstance(arch, AnyNetSpec):
        require(arch.block_type == "res_bottleneck_block", f"timm's ResNet and RegNet have no {arch.block_type}")
        require(arch.activation == "relu", "timm's ResNet and RegNet use relu here")
        require(arch.head_w == 0, "timm's ResNet and RegNet have no head conv before the classifier")
        if arch.stem_type == "simple_stem_in":
            raise Inexpressible(
                "timm's RegNet generates its stage widths and depths from RegNetCfg (depth, w0, wa, wm: widths "
                f"generated from w0/wa/wm), and this network's stages (widths {list(arch.widths)}, depths "
                f"{list(arch.depths)}) are not those of any timm RegNet")
        require(arch.stem_type == "res_stem_in", f"timm has no {arch.stem_type}")
        return _resnet(arch)
    if isinstance(arch, EffNetSpec):
        return _effnet(arch)
    if isinstance(arch, ConvNeXtSpec):
        return "timm.models.convnext.ConvNeXt", family_kwargs(arch, LIB)
    if isinstance(arch, ViTSpec):
        return "timm.models.vision_transformer.VisionTransformer", family_kwargs(arch, LIB)
    raise Inexpressible(f"timm has no constructor for the {arch.family} family")


def _resnet(arch) -> tuple[str, dict]:
    require(len(arch.depths) >= 1 and arch.strides[0] == 1 and all(s == 2 for s in arch.strides[1:]),
            "timm's ResNet strides its first stage 1 and every later stage 2")
    require(arch.se_r == 0, "timm's ResNet puts squeeze-excitation after the last conv, not on the bottleneck")
    require(all(w % 4 == 0 for w in arch.widths), f"timm's Bottleneck outputs 4 x planes channels; widths "
            f"{list(arch.widths)} are not all multiples of 4")
    w_bs = [int(round(w * b)) for w, b in zip(arch.widths, arch.bot_muls)]
    cards = {w_b // g for w_b, g in zip(w_bs, arch.group_ws)}
    require(len(cards) == 1, f"timm's ResNet has one cardinality for all stages; this network's group counts are "
            f"{[w_b // g for w_b, g in zip(w_bs, arch.group_ws)]}")
    card = cards.pop()
    planes = [w // 4 for w in arch.widths]
    base = _base_width(planes, w_bs, card)
    require(base is not None, f"timm's Bottleneck is floor(planes * base_width / 64) * cardinality wide; no "
            f"base_width gives bottleneck widths {w_bs} for planes {planes}")
    return "timm.models.resnet.ResNet", {
        "block": ref("timm.models.resnet.Bottleneck"), "layers": list(arch.depths), "channels": planes,
        "cardinality": card, "base_width": base, "stem_width": arch.stem_w, "num_classes": arch.num_classes}


def _base_width(planes: list[int], w_bs: list[int], card: int) -> int | None:
    guess = w_bs[0] * 64 // (planes[0] * card)
    for base in range(max(1, guess - 2), guess + 3):
        if all(int(p * (base / 64)) * card == w_b for p, w_b in zip(planes, w_bs)):
            return base
    return None


def _effnet(arch) -> tuple[str, dict]:
    require(arch.activation == "silu", "timm's EfficientNet uses silu (swish) here")
    inputs = [arch.stem_w, *arch.widths[:-1]]
    widths = {"stem": arch.stem_w}
    rows = []
    for i, (w_in, w, e, k, s, d) in enumerate(zip(inputs, arch.widths, arch.exp_ratios, arch.kernels,
                                                   arch.strides, arch.depths)):
        widths[f"stage {i + 1} width"] = w
        ins = [w_in, w] if d > 1 else [w_in]
        if e > 1:
            widths.update({f"stage {i + 1} expansion of {x}": x * e for x in ins})
        for x in ins:
            theirs = round(x * e * (arch.se_r / e)) if e > 1 else round(x * arch.se_r)
            require(theirs == int(x * arch.se_r), f"timm's SE is round({x} * {arch.se_r:g}) = {theirs} wide; "
                    f"fastscale's (as pycls's) int({x} * {arch.se_r:g}) = {int(x * arch.se_r)}")
        se = f"_se{arch.se_r:g}" if arch.se_r else ""
        kind = f"ds_r{d}_k{k}_s{s}_e1" if e == 1 else f"ir_r{d}_k{k}_s{s}_e{e}"
        rows.append([f"{kind}_c{w}{se}"])
    kept_by_rounding(LIB, widths)
    blocks = call("timm.models._efficientnet_builder.decode_arch_def", rows)
    return "timm.models.efficientnet.EfficientNet", {
        "block_args": blocks, "num_features": arch.head_w, "stem_size": arch.stem_w,
        "act_layer": call("timm.layers.get_act_layer", "silu"), "num_classes": arch.num_classes}
