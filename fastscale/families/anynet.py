"""AnyNet: a stem, stages of residual blocks, and a head (ResNet and ResNeXt are AnyNets).

Written in the layer vocabulary of ``fastscale.layers`` so that complexity and torch module come
from one description. Block semantics follow the reference (pycls): bottleneck width
``round(w_out * bot_mul)``, ``w_b // group_w`` groups, SE width ``round(w_in * se_r)`` from the
block's input width, a projection shortcut whenever width or stride changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from fastscale.planning import stage_cost
from fastscale.errors import ScalingError
from fastscale.families import _fields as f
from fastscale.layers import ACTIVATIONS, SE, Act, Conv, GlobalPool, Linear, MaxPool, Norm, Residual, Seq, repeated

STEMS = ("simple_stem_in", "res_stem_in", "res_stem_cifar")
# res_bottleneck_msra_block: pycls's ResNet with RESNET.STRIDE_1X1 (its default), the stride on the first
# 1x1 conv instead of the 3x3; the one block here that pycls's AnyNet has no name for.
BLOCKS = ("vanilla_block", "res_basic_block", "res_bottleneck_block", "res_bottleneck_linear_block",
          "res_bottleneck_msra_block")
BLOCK_ALIASES = {
    "vanilla": "vanilla_block",
    "basic": "res_basic_block",
    "bottleneck": "res_bottleneck_block",
    "bottleneck_linear": "res_bottleneck_linear_block",
    "inverted": "res_bottleneck_linear_block",
}
BOTTLENECKS = ("res_bottleneck_block", "res_bottleneck_linear_block", "res_bottleneck_msra_block")
RESIDUAL_BOTTLENECKS = ("res_bottleneck_block", "res_bottleneck_msra_block")
# The node makers below are memoised: nodes are immutable, and one object per distinct block lets
# the trace replay a network's children by identity (fastscale.layers.trace.Tracer.child).


@lru_cache(maxsize=1024)
def stem(stem_type: str, w_out: int, act: str):
    if stem_type == "simple_stem_in":
        return Seq((Conv(3, w_out, 3, 2), Norm(w_out), Act(act)))
    if stem_type == "res_stem_in":
        return Seq((Conv(3, w_out, 7, 2), Norm(w_out), Act(act), MaxPool(w_out, 3, 2)))
    return Seq((Conv(3, w_out, 3, 1), Norm(w_out), Act(act)))


@lru_cache(maxsize=4096)
def head(w_in: int, head_w: int, num_classes: int, act: str):
    nodes: tuple = ()
    if head_w > 0:
        nodes = (Conv(w_in, head_w, 1), Norm(head_w), Act(act))
        w_in = head_w
    return Seq(nodes + (GlobalPool(), Linear(w_in, num_classes)))


def _projection(w_in: int, w_out: int, stride: int):
    if w_in != w_out or stride != 1:
        return Seq((Conv(w_in, w_out, 1, stride), Norm(w_out)))
    return None


@lru_cache(maxsize=8192)
def block(kind: str, w_in: int, w_out: int, stride: int, bot_mul: float, group_w: int, se_r: float, act: str):
    """One AnyNet block as a layer-vocabulary node."""
    if kind == "vanilla_block":
        return Seq((Conv(w_in, w_out, 3, stride), Norm(w_out), Act(act), Conv(w_out, w_out, 3), Norm(w_out), Act(act)))
    if kind == "res_basic_block":
        main = Seq((Conv(w_in, w_out, 3, stride), Norm(w_out), Act(act), Conv(w_out, w_out, 3), Norm(w_out)))
        proj = _projection(w_in, w_out, stride)
        return Residual(main, proj, identity=proj is None, act=act)
    w_b = int(round(w_out * bot_mul))
    w_se = int(round(w_in * se_r))
    s1, s3 = (stride, 1) if kind == "res_bottleneck_msra_block" else (1, stride)
    layers = [Conv(w_in, w_b, 1, s1), Norm(w_b), Act(act), Conv(w_b, w_b, 3, s3, w_b // group_w), Norm(w_b), Act(act)]
    if w_se:
        layers.append(SE(w_b, w_se, act))
    layers += [Conv(w_b, w_out, 1), Norm(w_out)]
    main = Seq(tuple(layers))
    if kind in RESIDUAL_BOTTLENECKS:
        proj = _projection(w_in, w_out, stride)
        return Residual(main, proj, identity=proj is None, act=act)
    return Residual(main, None, identity=(w_in == w_out and stride == 1), act=None)


def stage_list(value, field: str, n: int | None, check) -> tuple:
    """``as_list``, except that an empty list is a network of zero stages (pycls builds one from a
    config whose per-stage lists are empty: a stem and a head), when the spec has no stages."""
    if not n and isinstance(value, (list, tuple)) and not value:
        return ()
    return f.as_list(value, field, n, check)


@dataclass(frozen=True)
class AnyNetSpec:
    stem_type: str
    stem_w: int
    block_type: str
    depths: tuple
    widths: tuple
    strides: tuple
    bot_muls: tuple
    group_ws: tuple
    se_r: float = 0.0
    head_w: int = 0
    activation: str = "relu"
    num_classes: int = 1000
    family = "anynet"

    @property
    def has_bottleneck(self) -> bool:
        return self.block_type in BOTTLENECKS

    def network(self):
        act = self.activation
        nodes = [stem(self.stem_type, self.stem_w, act)]
        prev = self.stem_w
        for d, w, s, b, g in zip(self.depths, self.widths, self.strides, self.bot_muls, self.group_ws):
            nodes.append(block(self.block_type, prev, w, s, b, g, self.se_r, act))
            nodes.append(repeated(block(self.block_type, w, w, 1, b, g, self.se_r, act), d - 1))
            prev = w
        nodes.append(head(prev, self.head_w, self.num_classes, act))
        return Seq(tuple(nodes))

    @property
    def total_blocks(self) -> int:
        """Blocks in all: what a worker builds grows with it (the service caps it)."""
        return sum(self.depths)

    def complexity(self, resolution: int) -> dict[str, int]:
        """Same figures as ``self.network().complexity``, from the closed forms of ``stage_cost``.

        Planning asks for figures often (the base, every plan, every re-validated plan); the
        closed forms cost microseconds per stage, and tests/core/planning/test_stage_cost.py holds them
        to the layers.
        """
        flops, params, acts, h = stage_cost.stem_cached(self.stem_type, self.stem_w, resolution)
        prev = self.stem_w
        for d, w, s, b, g in zip(self.depths, self.widths, self.strides, self.bot_muls, self.group_ws):
            sf, sp, sa = stage_cost.anynet_stage_cached(self.block_type, prev, w, s, d, b, g, self.se_r, h)
            flops, params, acts = flops + sf, params + sp, acts + sa
            h, prev = stage_cost.out_size(h, s), w
        hf, hp, ha = stage_cost.head_cached(prev, self.head_w, self.num_classes, h)
        return {"flops": flops + hf, "params": params + hp, "acts": acts + ha}

    def to_dict(self) -> dict:
        return f.as_json(self)

    @classmethod
    def from_dict(cls, data: dict, field: str = "spec") -> "AnyNetSpec":
        f.reject_unknown(data, cls, field)
        raw_block = data.get("block_type", "res_bottleneck_block")
        raw_block = BLOCK_ALIASES.get(raw_block, raw_block) if isinstance(raw_block, str) else raw_block
        block_type = f.as_choice(raw_block, f"{field}.block_type", BLOCKS)
        depths = stage_list(f.required(data, "depths", field), f"{field}.depths", None, f.ints(1, f.MAX_DEPTH))
        f.check_blocks(depths, field)
        n = len(depths)
        widths = stage_list(f.required(data, "widths", field), f"{field}.widths", n, f.ints(1, f.MAX_WIDTH))
        strides = stage_list(data.get("strides", [2] * n), f"{field}.strides", n, f.ints(1, 2))
        bot_muls = stage_list(data.get("bot_muls", [1.0] * n), f"{field}.bot_muls", n, f.floats(0.0625, 8.0))
        if block_type in BOTTLENECKS:
            dense = [int(round(w * b)) for w, b in zip(widths, bot_muls)]
            group_ws = stage_list(data.get("group_ws", dense), f"{field}.group_ws", n, f.ints(1, f.MAX_WIDTH))
        else:
            group_ws = tuple(1 for _ in depths)
        spec = cls(
            stem_type=f.as_choice(data.get("stem_type", "simple_stem_in"), f"{field}.stem_type", STEMS),
            stem_w=f.as_int(data.get("stem_w", 32), f"{field}.stem_w", 1, f.MAX_WIDTH),
            block_type=block_type,
            depths=depths,
            widths=widths,
            strides=strides,
            bot_muls=bot_muls,
            group_ws=group_ws,
            se_r=f.as_float(data.get("se_r", 0.0), f"{field}.se_r", 0.0, 1.0),
            head_w=f.as_int(data.get("head_w", 0), f"{field}.head_w", 0, f.MAX_WIDTH),
            activation=f.as_choice(data.get("activation", "relu"), f"{field}.activation", ACTIVATIONS),
            num_classes=f.as_int(data.get("num_classes", 1000), f"{field}.num_classes", 1, f.MAX_CLASSES),
        )
        spec.check(field)
        return spec

    def check(self, field: str = "spec") -> None:
        """Bottleneck width must split into whole groups, or the grouped conv cannot be built."""
        if not self.has_bottleneck:
            return
        for i, (w, b, g) in enumerate(zip(self.widths, self.bot_muls, self.group_ws)):
            w_b = int(round(w * b))
            if w_b < 1 or g > w_b or w_b % g:
                raise ScalingError(
                    f"{field}.group_ws[{i}]",
                    f"bottleneck width round({w}*{b})={w_b} is not a multiple of group width {g}",
                    "a group width that divides the stage's bottleneck width",
                )
