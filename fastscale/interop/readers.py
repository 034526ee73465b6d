"""A built torchvision or timm model -> the fastscale spec of exactly that network, or why not.

The catalog is read from the libraries this way, from the modules their own constructors build
(on the meta device: no weights), never typed from memory. The reader is strict: every leaf
module must be of a kind fastscale's layers describe (conv, batch norm, relu/silu, pooling,
linear, and the no-ops), convs use "same" padding without dilation, and the block structure must
be one of fastscale's (a residual bottleneck with SE from the block input; an MBConv). Anything
else (anti-aliasing, deep stems, group norm, pre-activation, ...) is refused with a reason.
torch is imported by the caller; this module only walks what it is given.
"""

from __future__ import annotations

from fastscale.interop import readers_tokens
from fastscale.interop.common import Unreadable

LEAVES = {"Conv2d", "BatchNorm2d", "BatchNormAct2d", "ReLU", "SiLU", "Sigmoid", "MaxPool2d",
          "AdaptiveAvgPool2d", "SelectAdaptivePool2d", "Linear", "Identity", "Dropout", "Flatten",
          "StochasticDepth"}
SE_KINDS = {"SqueezeExcitation", "SEModule", "SqueezeExcite"}
WITH_PARAMS = {"Conv2d", "BatchNorm2d", "BatchNormAct2d", "Linear"}


def _check_leaves(model) -> str:
    """The activation the network uses (relu or silu), after refusing modules fastscale lacks."""
    acts = set()
    for name, m in model.named_modules():
        kind = type(m).__name__
        if kind in ("ReLU", "SiLU"):
            acts.add(kind.lower())
        if not list(m.children()) and kind not in LEAVES:
            raise Unreadable(f"module {name} is a {kind}, which fastscale's layers do not describe")
        if list(m.parameters(recurse=False)) and kind not in WITH_PARAMS:
            raise Unreadable(f"module {name} ({kind}) holds weights fastscale's layers do not describe")
        if kind == "Conv2d":
            k = m.kernel_size[0]
            if m.kernel_size != (k, k) or m.dilation != (1, 1) or m.padding not in ((k // 2, k // 2),):
                raise Unreadable(f"conv {name} is not a square 'same'-padded conv without dilation")
    main = acts - {"relu"} if acts != {"relu"} else acts
    if len(main) != 1:
        raise Unreadable(f"uses activations {sorted(acts)}; fastscale's families use one of relu, silu")
    return main.pop()


def _convs(block) -> tuple[list, list, list]:
    """A block's convs in order, split into main path, squeeze-excitation and shortcut."""
    main, se, proj = [], [], []
    in_se = {id(c) for m in block.modules() if type(m).__name__ in SE_KINDS for c in m.modules()}
    for name, m in block.named_modules():
        if type(m).__name__ != "Conv2d":
            continue
        if name.split(".")[0] in ("proj", "downsample", "shortcut"):
            proj.append(m)
        elif id(m) in in_se:
            se.append(m)
        else:
            main.append(m)
    return main, se, proj


def _bottleneck(block) -> dict:
    main, se, proj = _convs(block)
    if len(main) != 3 or [c.kernel_size[0] for c in main] != [1, 3, 1]:
        raise Unreadable(f"block {type(block).__name__} is not a 1x1-3x3-1x1 bottleneck")
    a, b, c = main
    if a.stride != (1, 1) or c.stride != (1, 1) or a.out_channels != b.in_channels or b.out_channels != b.in_channels:
        raise Unreadable("bottleneck with its stride or widths outside the 3x3 conv")
    if any(x.bias is not None for x in main):
        raise Unreadable("bottleneck convs with biases")
    if proj and (len(proj) != 1 or proj[0].kernel_size != (1, 1)):
        raise Unreadable("shortcut is not one 1x1 conv")
    w_se = se[0].out_channels if se else 0
    if se and (len(se) != 2 or se[0].in_channels != b.out_channels):
        raise Unreadable("squeeze-excitation not on the bottleneck width")
    return {"w_in": a.in_channels, "w_b": b.out_channels, "groups": b.groups, "stride": b.stride[0],
            "w_se": w_se, "w_out": c.out_channels, "proj": bool(proj)}


def _mbconv(block) -> dict:
    main, se, proj = _convs(block)
    if proj:
        raise Unreadable("MBConv with a shortcut conv")
    dw_at = 1 if len(main) == 3 else 0
    if len(main) not in (2, 3) or main[dw_at].groups != main[dw_at].in_channels:
        raise Unreadable(f"block {type(block).__name__} is not an MBConv")
    dw, pwl = main[dw_at], main[-1]
    w_in = main[0].in_channels
    if dw.in_channels % w_in:
        raise Unreadable("MBConv expansion is not a whole ratio")
    if se and len(se) != 2:
        raise Unreadable("squeeze-excitation with other than two convs")
    return {"w_in": w_in, "exp": dw.in_channels // w_in, "k": dw.kernel_size[0], "stride": dw.stride[0],
            "w_se": se[0].out_channels if se else 0, "w_out": pwl.out_channels}


def _se_ratio(blocks: list[dict], rounder) -> float:
    """The one SE ratio that gives every block its SE width from its input width (0 for none)."""
    if not any(b["w_se"] for b in blocks):
        return 0.0
    for r in (0.25, 0.0625, 0.125, 0.5):
        if all(rounder(b["w_in"] * r) == b["w_se"] for b in blocks):
            return r
    raise Unreadable("squeeze-excitation widths follow no single ratio of the block input width")


def _stages(stages: list[list[dict]]) -> list[list[dict]]:
    """The library's own stages, checked: after its first block, a stage repeats one block of
    stride 1 that keeps the width (fastscale's stage), and each stage has a block."""
    free = ("w_in", "stride", "proj", "w_se")  # what a stage's first block may change
    for st in stages:
        if not st:
            raise Unreadable("an empty stage")
        if any(b != st[-1] or b["stride"] != 1 or b["w_in"] != b["w_out"] for b in st[1:]):
            raise Unreadable("the blocks after a stage's first differ, or change stride or width")
        if len(st) > 1 and any(st[0][k] != st[1][k] for k in st[0] if k not in free):
            raise Unreadable("a stage's first block differs from the rest in more than stride and input width")
    return stages


def anynet(stem_type: str, stem_w: int, stages: list, num_classes: int, act: str, block_type: str) -> dict:
    """The AnyNet spec of a stem, stages of bottleneck blocks (as ``_bottleneck`` reads them) and a
    linear head."""
    stages = _stages(stages)
    blocks = [b for st in stages for b in st]
    for b in blocks:
        if b["proj"] != (b["w_in"] != b["w_out"] or b["stride"] != 1):
            raise Unreadable("shortcut projection where fastscale's blocks have none, or the reverse")
    se_r = _se_ratio(blocks, lambda x: int(round(x)))
    firsts = [st[0] for st in stages]
    return {"family": "anynet", "stem_type": stem_type, "stem_w": stem_w, "block_type": block_type,
            "depths": [len(st) for st in stages], "widths": [b["w_out"] for b in firsts],
            "strides": [b["stride"] for b in firsts], "bot_muls": [b["w_b"] / b["w_out"] for b in firsts],
            "group_ws": [b["w_b"] // b["groups"] for b in firsts], "se_r": se_r, "head_w": 0,
            "activation": act, "num_classes": num_classes}


def effnet(stem_w: int, stages: list, head_w: int, num_classes: int, act: str) -> dict:
    stages = _stages(stages)
    blocks = [b for st in stages for b in st]
    firsts = [st[0] for st in stages]
    return {"family": "effnet", "stem_w": stem_w, "depths": [len(st) for st in stages],
            "widths": [b["w_out"] for b in firsts], "exp_ratios": [b["exp"] for b in firsts],
            "kernels": [b["k"] for b in firsts], "strides": [b["stride"] for b in firsts],
            "se_r": _se_ratio(blocks, int), "head_w": head_w, "activation": act, "num_classes": num_classes}


def _stem(convs: list, pool) -> tuple[str, int]:
    if len(convs) != 1 or convs[0].stride != (2, 2):
        raise Unreadable("stem is not a single stride-2 conv")
    k = convs[0].kernel_size[0]
    if k == 7 and type(pool).__name__ == "MaxPool2d" and pool.kernel_size == 3 and pool.stride == 2:
        return "res_stem_in", convs[0].out_channels
    if k == 3 and pool is None:
        return "simple_stem_in", convs[0].out_channels
    raise Unreadable(f"stem ({k}x{k} conv, pool {type(pool).__name__}) is not one of fastscale's stems")


def _conv_list(module) -> list:
    return [m for m in module.modules() if type(m).__name__ == "Conv2d"]


def _head(fc, w_last: int) -> int:
    if type(fc).__name__ != "Linear" or fc.in_features != w_last or fc.bias is None:
        raise Unreadable("classifier is not one linear layer on the pooled features")
    return fc.out_features


def _regnet(model, kind: str, act: str) -> dict:
    if kind == "timm.RegNet":
        if list(model.final_conv.parameters()):
            raise Unreadable("a final conv after the last stage (linear_out / preact variants)")
        stages, fc = [s for n, s in model.named_children() if n[:1] == "s" and n[1:].isdigit()], model.head.fc
    else:
        stages, fc = list(model.trunk_output.children()), model.fc
    stem_type, stem_w = _stem(_conv_list(model.stem), None)
    return _bottlenecks(act, stem_type, stem_w, stages, fc)


def _resnet(model, kind: str, act: str) -> dict:
    stem_type, stem_w = _stem(_conv_list(model.conv1), model.maxpool)
    stages = [getattr(model, n) for n in ("layer1", "layer2", "layer3", "layer4")]
    return _bottlenecks(act, stem_type, stem_w, stages, model.fc)


def _bottlenecks(act: str, stem_type: str, stem_w: int, stages: list, fc) -> dict:
    blocks = [[_bottleneck(b) for b in st.children()] for st in stages]
    if not blocks or not blocks[-1]:
        raise Unreadable("no blocks")
    num_classes = _head(fc, blocks[-1][-1]["w_out"])
    return anynet(stem_type, stem_w, blocks, num_classes, act, "res_bottleneck_block")


def _efficientnet(model, kind: str, act: str) -> dict:
    if kind == "timm.EfficientNet":
        stem_convs, stages, head, fc = [model.conv_stem], list(model.blocks), model.conv_head, model.classifier
    else:
        feats = list(model.features)
        stem_convs, stages, head, fc = _conv_list(feats[0]), feats[1:-1], _conv_list(feats[-1])[0], model.classifier[-1]
    _, stem_w = _stem(stem_convs, None)
    blocks = [[_mbconv(b) for b in st.children()] for st in stages]
    if not blocks or not blocks[-1] or head.kernel_size != (1, 1) or head.in_channels != blocks[-1][-1]["w_out"]:
        raise Unreadable("head is not a 1x1 conv on the last stage")
    return effnet(stem_w, blocks, head.out_channels, _head(fc, head.out_channels), act)


# "<library>.<model class>" -> its reader. A new family adds its classes here, with a reader that
# returns that family's spec dict (the token families' readers check their own leaves).
READERS = {
    "torchvision.RegNet": _regnet, "timm.RegNet": _regnet,
    "torchvision.ResNet": _resnet, "timm.ResNet": _resnet,
    "torchvision.EfficientNet": _efficientnet, "timm.EfficientNet": _efficientnet,
    **readers_tokens.READERS,
}


def read(model) -> dict:
    """The fastscale spec (JSON form) of a torchvision or timm model READERS knows, built exactly."""
    kind = f"{type(model).__module__.split('.')[0]}.{type(model).__name__}"
    if kind not in READERS:
        raise Unreadable(f"{kind} is not a model class fastscale reads ({', '.join(sorted(READERS))})")
    if kind in readers_tokens.READERS:
        readers_tokens.check_leaves(model)
        return READERS[kind](model, kind, None)
    return READERS[kind](model, kind, _check_leaves(model))
