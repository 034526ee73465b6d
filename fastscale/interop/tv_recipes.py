"""A scaled architecture -> the torchvision constructor call that builds exactly it, or why none can.

- AnyNet with the simple stem (RegNets, scaled or not): ``torchvision.models.regnet.RegNet`` with
  explicit ``BlockParams`` (per-stage depths, widths, group widths, bottleneck multipliers,
  strides, SE ratio): its blocks compute bottleneck, group and SE widths as fastscale does.
- AnyNet with the ResNet stem: ``torchvision.models.resnet.ResNet`` with ``Bottleneck``. Its stage
  widths are fixed (64, 128, 256, 512 planes x 4) as are its stem (64) and strides: only depths,
  groups and the bottleneck width per group are free.
- EfficientNet: ``torchvision.models.efficientnet.EfficientNet`` with one ``MBConvConfig`` per
  stage; every channel count goes through torchvision's multiple-of-8 rounding, and its SE block
  is always a quarter of the block input.
- ConvNeXt: ``torchvision.models.convnext.ConvNeXt`` with one ``CNBlockConfig(input_channels,
  out_channels, num_layers)`` per stage (its 4x4 stem, 7x7 kernels and MLP ratio 4 are fixed).
- ViT: ``torchvision.models.vision_transformer.VisionTransformer`` (class token, qkv biases, final
  norm, class-token head; the MLP width explicit).
"""

from __future__ import annotations

from fastscale.families import AnyNetSpec, EffNetSpec
from fastscale.families.convnext import ConvNeXtSpec
from fastscale.families.vit import ViTSpec
from fastscale.interop.calls import call, ref
from fastscale.interop.common import Inexpressible, family_kwargs, kept_by_rounding, require

LIB = "torchvision"
RESNET_WIDTHS = (256, 512, 1024, 2048)


def recipe(arch) -> tuple[str, dict]:
    """(constructor, kwargs) for ``arch``, or Inexpressible."""
    if isinstance(arch, AnyNetSpec):
        require(arch.block_type == "res_bottleneck_block", f"torchvision has no {arch.block_type} in its "
                "RegNet or ResNet (both use the residual bottleneck with the stride on the 3x3 conv)")
        require(arch.activation == "relu", "torchvision's RegNet and ResNet use relu")
        require(arch.head_w == 0, "torchvision's RegNet and ResNet have no head conv before the classifier")
        if arch.stem_type == "simple_stem_in":
            return _regnet(arch)
        require(arch.stem_type == "res_stem_in", f"torchvision has no {arch.stem_type}")
        return _resnet(arch)
    if isinstance(arch, EffNetSpec):
        return _effnet(arch)
    if isinstance(arch, ConvNeXtSpec):
        kwargs = family_kwargs(arch, LIB)
        settings = [call("torchvision.models.convnext.CNBlockConfig", *s) for s in kwargs["block_setting"]]
        return "torchvision.models.convnext.ConvNeXt", {**kwargs, "block_setting": settings}
    if isinstance(arch, ViTSpec):
        return "torchvision.models.vision_transformer.VisionTransformer", family_kwargs(arch, LIB)
    raise Inexpressible(f"torchvision has no constructor for the {arch.family} family")


def _regnet(arch) -> tuple[str, dict]:
    params = call("torchvision.models.regnet.BlockParams", depths=list(arch.depths), widths=list(arch.widths),
                  group_widths=list(arch.group_ws), bottleneck_multipliers=list(arch.bot_muls),
                  strides=list(arch.strides), se_ratio=arch.se_r or None)
    return "torchvision.models.regnet.RegNet", {"block_params": params, "num_classes": arch.num_classes,
                                                "stem_width": arch.stem_w}


def _resnet(arch) -> tuple[str, dict]:
    require(tuple(arch.widths) == RESNET_WIDTHS, "torchvision's ResNet has fixed stage widths "
            f"{list(RESNET_WIDTHS)} (planes 64..512 x 4); this network's are {list(arch.widths)}")
    require(arch.stem_w == 64, f"torchvision's ResNet has a fixed 64-wide stem; this one is {arch.stem_w}")
    require(tuple(arch.strides) == (1, 2, 2, 2), "torchvision's ResNet has fixed strides 1, 2, 2, 2")
    require(arch.se_r == 0, "torchvision's ResNet has no squeeze-excitation")
    w_bs = [int(round(w * b)) for w, b in zip(arch.widths, arch.bot_muls)]
    groups = {w_b // g for w_b, g in zip(w_bs, arch.group_ws)}
    require(len(groups) == 1, f"torchvision's ResNet has one group count for all stages; this network's "
            f"are {[w_b // g for w_b, g in zip(w_bs, arch.group_ws)]}")
    g = groups.pop()
    planes = [w // 4 for w in arch.widths]
    per_group = w_bs[0] * 64 // (planes[0] * g)
    require(all(int(p * (per_group / 64.0)) * g == w_b for p, w_b in zip(planes, w_bs)),
            f"torchvision's ResNet gives stage i int(planes_i * width_per_group / 64) * groups bottleneck "
            f"channels; no width_per_group gives {w_bs}")
    return "torchvision.models.resnet.ResNet", {
        "block": ref("torchvision.models.resnet.Bottleneck"), "layers": list(arch.depths),
        "num_classes": arch.num_classes, "groups": g, "width_per_group": per_group}


def _effnet(arch) -> tuple[str, dict]:
    require(arch.activation == "silu", "torchvision's EfficientNet uses silu")
    require(arch.se_r == 0.25, f"torchvision's MBConv has a fixed SE of a quarter of its input; se_r is {arch.se_r}")
    require(arch.head_w > 0, "torchvision's EfficientNet always has its 1x1 head conv")
    inputs = [arch.stem_w, *arch.widths[:-1]]
    widths = {"stem": arch.stem_w}
    for i, (w_in, w, e, d) in enumerate(zip(inputs, arch.widths, arch.exp_ratios, arch.depths)):
        widths[f"stage {i + 1} width"] = w
        widths[f"stage {i + 1} expansion"] = w_in * e
        if d > 1:
            widths[f"stage {i + 1} later expansion"] = w * e
        require(w_in >= 4 and (d == 1 or w >= 4), "torchvision's SE is at least 1 channel wide")
    kept_by_rounding(LIB, widths)
    stages = [call("torchvision.models.efficientnet.MBConvConfig", expand_ratio=float(e), kernel=k, stride=s,
                   input_channels=w_in, out_channels=w, num_layers=d)
              for w_in, w, e, k, s, d in zip(inputs, arch.widths, arch.exp_ratios, arch.kernels, arch.strides,
                                             arch.depths)]
    return "torchvision.models.efficientnet.EfficientNet", {
        "inverted_residual_setting": stages, "dropout": 0.2, "num_classes": arch.num_classes,
        "last_channel": arch.head_w}
