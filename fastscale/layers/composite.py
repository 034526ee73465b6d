"""Composite nodes: squeeze-and-excitation, sequences, repeated blocks, residual blocks.

``Repeat`` lets a stage's identical blocks be counted once and multiplied, which keeps analytic
complexity (and the trace) O(stages) rather than O(blocks) for the nearest-rounding search.
In the trace, every composite holds its input while its children run: eager PyTorch keeps a
module's arguments alive in its caller until the module returns, which is what makes a residual
input (or a whole stage's input) part of eval inference's live set.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from fastscale.layers.cx import Cx
from fastscale.layers.primitives import Act, Conv
from fastscale.layers.trace import Ten, Tracer


@dataclass(frozen=True, slots=True)
class SE:
    """Squeeze-and-excitation: global pool, 1x1 conv down, act, 1x1 conv up, sigmoid, rescale."""

    w: int
    w_se: int
    act: str

    def complexity(self, cx: Cx) -> None:
        h, w = cx.h, cx.w
        cx.h = cx.w = 1
        Conv(self.w, self.w_se, 1, bias=True).complexity(cx)
        Conv(self.w_se, self.w, 1, bias=True).complexity(cx)
        cx.h, cx.w = h, w

    def trace(self, tr: Tracer) -> None:
        """pool -> conv -> act -> conv -> sigmoid (saves its output) -> x * s (saves both factors)."""
        x, h, w = tr.cur, tr.h, tr.w
        tr.hold(x)
        tr.cur = pooled = Ten(self.w)
        tr.op("pool", (x,), (pooled,), kernels_fwd=1, kernels_bwd=1)
        tr.h = tr.w = 1
        Conv(self.w, self.w_se, 1, bias=True).trace(tr)
        Act(self.act).trace(tr)
        Conv(self.w_se, self.w, 1, bias=True).trace(tr)
        s = Ten(self.w)
        tr.save(tr.op("sigmoid", (tr.cur,), (s,), kernels_fwd=1, kernels_bwd=1), s)
        tr.release()
        tr.h, tr.w = h, w
        y = Ten(x.elems)
        # Backward of x * s: grad * s, and grad * x summed over the spatial positions.
        mul = tr.op("mul", (x, s), (y,), kernels_fwd=1, kernels_bwd=3)
        tr.save(mul, x)
        tr.save(mul, s)
        tr.modules += 2  # SqueezeExcite and its pool
        tr.cur = y

    def build(self):
        from fastscale.layers.torch_modules import SqueezeExcite

        return SqueezeExcite(
            Conv(self.w, self.w_se, 1, bias=True).build(),
            Act(self.act).build(),
            Conv(self.w_se, self.w, 1, bias=True).build(),
        )


@dataclass(frozen=True, slots=True)
class Seq:
    nodes: tuple

    def complexity(self, cx: Cx) -> None:
        for node in self.nodes:
            node.complexity(cx)

    def trace(self, tr: Tracer) -> None:
        tr.hold(tr.cur)
        for node in self.nodes:
            tr.child(node)
        tr.release()
        tr.modules += 1

    def build(self):
        import torch.nn as nn

        return nn.Sequential(*(node.build() for node in self.nodes))


@dataclass(frozen=True, slots=True)
class Repeat:
    """``times`` copies of one shape-preserving block; counted once, built ``times`` times."""

    node: Any
    times: int

    def complexity(self, cx: Cx) -> None:
        if self.times <= 0:
            return
        f, p, a = cx.flops, cx.params, cx.acts
        self.node.complexity(cx)
        n = self.times - 1
        cx.flops += n * (cx.flops - f)
        cx.params += n * (cx.params - p)
        cx.acts += n * (cx.acts - a)

    def trace(self, tr: Tracer) -> None:
        tr.modules += 1
        if self.times <= 0:
            return
        tr.hold(tr.cur)
        tr.repeat(self.node, self.times)
        tr.release()

    def build(self):
        import torch.nn as nn

        return nn.Sequential(*(self.node.build() for _ in range(self.times)))


@lru_cache(maxsize=4096)
def repeated(node, times: int) -> Repeat:
    """``Repeat(node, times)``, one object per (node, times): with the families' block makers
    memoised too, a network's children are the same objects in every network that has them, which
    is what the trace's segment memo (``fastscale.layers.trace.Tracer.child``) finds them by."""
    return Repeat(node, times)


@dataclass(frozen=True, slots=True)
class Residual:
    """out = act(main(x) + shortcut(x)); shortcut is a projection, the identity, or absent."""

    main: Any
    proj: Any = None
    identity: bool = False
    act: str | None = None

    def complexity(self, cx: Cx) -> None:
        if self.proj is not None:
            h, w = cx.h, cx.w
            self.proj.complexity(cx)
            cx.h, cx.w = h, w  # parallel branch: the main path starts from the input size
        self.main.complexity(cx)

    def trace(self, tr: Tracer) -> None:
        """Main path first, then the projection, as the module runs them. In backward, the
        shortcut's gradient for x waits while the whole main path's backward runs."""
        x, h, w = tr.cur, tr.h, tr.w
        joined = self.proj is not None or self.identity
        tr.hold(x)
        tr.pending += x.elems if joined else 0
        self.main.trace(tr)
        tr.pending -= x.elems if joined else 0
        out = tr.cur
        if joined:
            other = x
            if self.proj is not None:
                out_h, out_w, tr.cur, tr.h, tr.w = tr.h, tr.w, x, h, w
                self.proj.trace(tr)
                other, tr.h, tr.w = tr.cur, out_h, out_w
            tr.cur = Ten(out.elems, wide=out.wide or other.wide)  # type promotion: float32 wins
            tr.op("add", (out, other), (tr.cur,), kernels_fwd=1, kernels_bwd=1)  # bwd: summing x's two grads
        tr.release()
        tr.modules += 1
        if self.act:
            Act(self.act).trace(tr)

    def build(self):
        from fastscale.layers.torch_modules import ResidualModule

        proj = self.proj.build() if self.proj is not None else None
        act = Act(self.act).build() if self.act else None
        return ResidualModule(self.main.build(), proj, self.identity, act)
