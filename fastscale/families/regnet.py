"""RegNet (X and Y): a handful of parameters that expand to an AnyNet, as the reference does.

Expansion: per-block widths ``w0 + wa * i`` are snapped to ``w0 * wm**k`` (k rounded), quantized
to multiples of 8, grouped into stages by equal width, and made compatible with the group width.
numpy is used on purpose: the reference generates RegNets with numpy, and bit-for-bit agreement
(log, power, half-to-even rounding) matters more than avoiding the dependency.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from fastscale.errors import ScalingError, brief
from fastscale.families import _fields as f
from fastscale.families.anynet import BLOCKS, STEMS, AnyNetSpec
from fastscale.families.compat import make_compatible
from fastscale.layers import ACTIVATIONS


def regnet_stages(wa: float, w0: int, wm: float, depth: int, q: int = 8) -> tuple[list[int], list[int]]:
    """Per-stage widths and depths of a RegNet's block widths."""
    ws_cont = np.arange(depth) * wa + w0
    ks = np.round(np.log(ws_cont / w0) / np.log(wm))
    ws_all = np.round(np.divide(w0 * np.power(wm, ks), q)).astype(int) * q
    ws, ds = np.unique(ws_all, return_counts=True)
    return [int(w) for w in ws], [int(d) for d in ds]


@dataclass(frozen=True)
class RegNetSpec:
    depth: int
    w0: int
    wa: float
    wm: float
    group_w: int
    bot_mul: float = 1.0
    se_on: bool = False
    se_r: float = 0.25
    stem_w: int = 32
    stride: int = 2
    stem_type: str = "simple_stem_in"
    block_type: str = "res_bottleneck_block"
    head_w: int = 0
    activation: str = "relu"
    num_classes: int = 1000
    family = "regnet"

    def to_anynet(self) -> AnyNetSpec:
        """The AnyNet this RegNet expands to (memoised: planning and figures ask for it often)."""
        return _expand(self)

    def network(self):
        return self.to_anynet().network()

    @property
    def total_blocks(self) -> int:
        """Blocks in all (its expansion has ``depth`` blocks too): the service caps what it builds."""
        return self.depth

    def complexity(self, resolution: int) -> dict[str, int]:
        return self.to_anynet().complexity(resolution)

    def to_dict(self) -> dict:
        return f.as_json(self)

    @classmethod
    def from_dict(cls, data: dict, field: str = "spec") -> "RegNetSpec":
        f.reject_unknown(data, cls, field)
        se_on = data.get("se_on", False)
        if not isinstance(se_on, bool):
            raise ScalingError(f"{field}.se_on", f"must be true or false, got {brief(se_on)}")
        spec = cls(
            depth=f.as_int(f.required(data, "depth", field), f"{field}.depth", 1, f.MAX_BLOCKS),
            w0=f.as_int(f.required(data, "w0", field), f"{field}.w0", 8, f.MAX_WIDTH),
            wa=f.as_float(f.required(data, "wa", field), f"{field}.wa", 0.0, 1024.0),
            wm=f.as_float(f.required(data, "wm", field), f"{field}.wm", 1.0001, 16.0),
            group_w=f.as_int(f.required(data, "group_w", field), f"{field}.group_w", 1, f.MAX_WIDTH),
            bot_mul=f.as_float(data.get("bot_mul", 1.0), f"{field}.bot_mul", 0.0625, 8.0),
            se_on=se_on,
            se_r=f.as_float(data.get("se_r", 0.25), f"{field}.se_r", 0.0, 1.0),
            stem_w=f.as_int(data.get("stem_w", 32), f"{field}.stem_w", 1, f.MAX_WIDTH),
            stride=f.as_int(data.get("stride", 2), f"{field}.stride", 1, 2),
            stem_type=f.as_choice(data.get("stem_type", "simple_stem_in"), f"{field}.stem_type", STEMS),
            block_type=f.as_choice(data.get("block_type", "res_bottleneck_block"), f"{field}.block_type", BLOCKS),
            head_w=f.as_int(data.get("head_w", 0), f"{field}.head_w", 0, f.MAX_WIDTH),
            activation=f.as_choice(data.get("activation", "relu"), f"{field}.activation", ACTIVATIONS),
            num_classes=f.as_int(data.get("num_classes", 1000), f"{field}.num_classes", 1, f.MAX_CLASSES),
        )
        if spec.w0 % 8:
            raise ScalingError(f"{field}.w0", f"{spec.w0} is not a multiple of 8", "a multiple of 8")
        anynet = spec.to_anynet()
        if len(anynet.depths) > f.MAX_STAGES:
            raise ScalingError(f"{field}.wm", f"expands to {len(anynet.depths)} stages", f"at most {f.MAX_STAGES}")
        anynet.check(field)
        return spec


@lru_cache(maxsize=512)
def _expand(spec: RegNetSpec) -> AnyNetSpec:
    ws, ds = regnet_stages(spec.wa, spec.w0, spec.wm, spec.depth)
    n = len(ws)
    ws, bs, gs = make_compatible(ws, [spec.bot_mul] * n, [spec.group_w] * n)
    return AnyNetSpec(
        stem_type=spec.stem_type,
        stem_w=spec.stem_w,
        block_type=spec.block_type,
        depths=tuple(ds),
        widths=ws,
        strides=tuple(spec.stride for _ in ws),
        bot_muls=bs,
        group_ws=gs,
        se_r=spec.se_r if spec.se_on else 0.0,
        head_w=spec.head_w,
        activation=spec.activation,
        num_classes=spec.num_classes,
    )
