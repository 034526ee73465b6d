"""EfficientNet: a 3x3 stem, stages of MBConv blocks with SE, and a 1x1 conv head (silu).

MBConv as in the reference: expand 1x1 to ``int(w_in * exp_ratio)`` (skipped when that equals
``w_in``), depthwise kxk with the stage stride, SE of width ``int(w_in * se_r)``, linear 1x1
projection; identity shortcut when stride is 1 and width is kept. Drop-connect and dropout only
act in training and change no complexity figure, so the spec leaves them out.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from fastscale.planning import stage_cost
from fastscale.families import _fields as f
from fastscale.families.anynet import head, stage_list, stem
from fastscale.layers import ACTIVATIONS, SE, Act, Conv, Norm, Residual, Seq, repeated


@lru_cache(maxsize=8192)  # one object per distinct block: see anynet's node makers
def mbconv(w_in: int, exp_ratio: int, k: int, stride: int, se_r: float, w_out: int, act: str):
    w_exp = int(w_in * exp_ratio)
    layers = []
    if w_exp != w_in:
        layers += [Conv(w_in, w_exp, 1), Norm(w_exp), Act(act)]
    layers += [Conv(w_exp, w_exp, k, stride, w_exp), Norm(w_exp), Act(act)]
    w_se = int(w_in * se_r)
    if w_se:
        layers.append(SE(w_exp, w_se, act))
    layers += [Conv(w_exp, w_out, 1), Norm(w_out)]
    return Residual(Seq(tuple(layers)), None, identity=(stride == 1 and w_in == w_out), act=None)


@dataclass(frozen=True)
class EffNetSpec:
    stem_w: int
    depths: tuple
    widths: tuple
    exp_ratios: tuple
    kernels: tuple
    strides: tuple
    se_r: float = 0.25
    head_w: int = 1280
    activation: str = "silu"
    num_classes: int = 1000
    family = "effnet"

    def network(self):
        act = self.activation
        nodes = [stem("simple_stem_in", self.stem_w, act)]
        prev = self.stem_w
        for d, w, e, k, s in zip(self.depths, self.widths, self.exp_ratios, self.kernels, self.strides):
            nodes.append(mbconv(prev, e, k, s, self.se_r, w, act))
            nodes.append(repeated(mbconv(w, e, k, 1, self.se_r, w, act), d - 1))
            prev = w
        nodes.append(head(prev, self.head_w, self.num_classes, act))
        return Seq(tuple(nodes))

    @property
    def total_blocks(self) -> int:
        """Blocks in all: what a worker builds grows with it (the service caps it)."""
        return sum(self.depths)

    def complexity(self, resolution: int) -> dict[str, int]:
        """Same figures as ``self.network().complexity``, from the closed forms of ``stage_cost``."""
        flops, params, acts, h = stage_cost.stem_cached("simple_stem_in", self.stem_w, resolution)
        prev = self.stem_w
        for d, w, e, k, s in zip(self.depths, self.widths, self.exp_ratios, self.kernels, self.strides):
            sf, sp, sa = stage_cost.mbconv_stage_cached(prev, e, k, s, self.se_r, w, d, h)
            flops, params, acts = flops + sf, params + sp, acts + sa
            h, prev = stage_cost.out_size(h, s), w
        hf, hp, ha = stage_cost.head_cached(prev, self.head_w, self.num_classes, h)
        return {"flops": flops + hf, "params": params + hp, "acts": acts + ha}

    def to_dict(self) -> dict:
        return f.as_json(self)

    @classmethod
    def from_dict(cls, data: dict, field: str = "spec") -> "EffNetSpec":
        f.reject_unknown(data, cls, field)
        depths = stage_list(f.required(data, "depths", field), f"{field}.depths", None, f.ints(1, f.MAX_DEPTH))
        f.check_blocks(depths, field)
        n = len(depths)
        return cls(
            stem_w=f.as_int(data.get("stem_w", 32), f"{field}.stem_w", 1, f.MAX_WIDTH),
            depths=depths,
            widths=stage_list(f.required(data, "widths", field), f"{field}.widths", n, f.ints(1, f.MAX_WIDTH)),
            exp_ratios=stage_list(data.get("exp_ratios", [6] * n), f"{field}.exp_ratios", n, f.ints(1, 16)),
            kernels=stage_list(data.get("kernels", [3] * n), f"{field}.kernels", n,
                               lambda v, fl: f.as_choice(v, fl, (1, 3, 5, 7))),
            strides=stage_list(data.get("strides", [1] * n), f"{field}.strides", n, f.ints(1, 2)),
            se_r=f.as_float(data.get("se_r", 0.25), f"{field}.se_r", 0.0, 1.0),
            head_w=f.as_int(data.get("head_w", 1280), f"{field}.head_w", 0, f.MAX_WIDTH),
            activation=f.as_choice(data.get("activation", "silu"), f"{field}.activation", ACTIVATIONS),
            num_classes=f.as_int(data.get("num_classes", 1000), f"{field}.num_classes", 1, f.MAX_CLASSES),
        )
