"""Spatial ops of ConvNeXt and ViT: patchifying convs (the ConvNeXt stem and downsampling
layers, the ViT patch embedding), the depthwise 7x7 conv, the class token and position
embedding, and the two ways these families pool (a mean over the map, the class token).

Counted as fvcore counts (``fastscale.layers.tokens``): conv flops are the weight's elements times
the output positions, no bias adds; the mean pool (``adaptive_avg_pool2d``) costs one flop per
input element; acts are conv outputs only.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastscale.layers.cx import Cx
from fastscale.layers.tokens import save_operand
from fastscale.layers.trace import Ten, Tracer


@dataclass(frozen=True, slots=True)
class Patchify:
    """A biased ``k x k`` conv with stride ``k`` and no padding: the map shrinks to ``floor(h / k)``."""

    w_in: int
    w_out: int
    k: int

    def complexity(self, cx: Cx) -> None:
        cx.h, cx.w = cx.h // self.k, cx.w // self.k
        weights = self.k * self.k * self.w_in * self.w_out
        cx.flops += weights * cx.h * cx.w
        cx.params += weights + self.w_out
        cx.acts += self.w_out * cx.h * cx.w

    def trace(self, tr: Tracer) -> None:
        """Saves its input (a low-precision copy of a wide one under autocast) and its weight's cast."""
        x = tr.cur
        tr.h, tr.w = tr.h // self.k, tr.w // self.k
        y = Ten(self.w_out * tr.h * tr.w)
        weights = self.k * self.k * self.w_in * self.w_out
        op = tr.op("conv", (x,), (y,), flops=weights * tr.h * tr.w, weights=weights + self.w_out,
                   saved_casts=weights, workspace=x.elems + y.elems, planes=self.w_in * self.w_out,
                   group_in=self.w_in, casts=2 + x.network_input + x.wide, kernels_fwd=2,
                   kernels_bwd=(not x.network_input) + 2)
        save_operand(tr, op, x)
        tr.modules += 1
        tr.param_tensors += 2
        tr.cur = y

    def build(self):
        import torch.nn as nn

        return nn.Conv2d(self.w_in, self.w_out, self.k, self.k, 0, bias=True)


@dataclass(frozen=True, slots=True)
class DWConv:
    """A biased depthwise ``k x k`` conv, stride 1, "same" padding (ConvNeXt's 7x7)."""

    w: int
    k: int = 7

    def complexity(self, cx: Cx) -> None:
        weights = self.k * self.k * self.w
        cx.flops += weights * cx.h * cx.w
        cx.params += weights + self.w
        cx.acts += self.w * cx.h * cx.w

    def trace(self, tr: Tracer) -> None:
        x = tr.cur
        y = Ten(x.elems)
        weights = self.k * self.k * self.w
        op = tr.op("conv", (x,), (y,), flops=weights * tr.h * tr.w, weights=weights + self.w, saved_casts=weights,
                   workspace=x.elems + y.elems, planes=self.w, group_in=1, casts=2 + x.wide, kernels_fwd=2,
                   kernels_bwd=3)
        save_operand(tr, op, x)
        tr.modules += 1
        tr.param_tensors += 2
        tr.cur = y

    def build(self):
        import torch.nn as nn

        return nn.Conv2d(self.w, self.w, self.k, 1, (self.k - 1) // 2, groups=self.w, bias=True)


@dataclass(frozen=True, slots=True)
class MeanPool:
    """The mean over the map (``AdaptiveAvgPool2d(1)`` and a flatten): one flop per input element."""

    w: int

    def complexity(self, cx: Cx) -> None:
        cx.flops += self.w * cx.h * cx.w
        cx.h, cx.w = 1, 1

    def trace(self, tr: Tracer) -> None:
        """A mean: its backward needs only the input's shape, so nothing is saved."""
        x = tr.cur
        y = Ten(self.w, wide=x.wide)
        tr.op("pool", (x,), (y,), flops=x.elems, kernels_fwd=1, kernels_bwd=1)
        tr.h, tr.w = 1, 1
        tr.modules += 3  # Sequential(AdaptiveAvgPool2d, Flatten)
        tr.cur = y

    def build(self):
        import torch.nn as nn

        return nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(1))


@dataclass(frozen=True, slots=True)
class TokenEmbed:
    """A ``grid x grid`` patch map to ``grid**2 + 1`` tokens: flatten, prepend the class token,
    add the position embedding. Its parameters (``w`` for the class token, ``w`` per token for
    the positions) grow with the resolution, which the map it receives says."""

    w: int
    grid: int

    def complexity(self, cx: Cx) -> None:
        if (cx.h, cx.w) != (self.grid, self.grid):
            raise ValueError(f"token embedding for a {self.grid}x{self.grid} grid got {cx.h}x{cx.w}")
        cx.h, cx.w = self.grid * self.grid + 1, 1
        cx.params += self.w * (cx.h + 1)

    def trace(self, tr: Tracer) -> None:
        """A concatenation and an add, neither saving anything; the position embedding is a
        float32 parameter, so the token sequence is wide under autocast."""
        x = tr.cur
        tr.h, tr.w = self.grid * self.grid + 1, 1
        cat = Ten(self.w * tr.h)
        tr.op("cat", (x,), (cat,), kernels_fwd=2, kernels_bwd=2)
        y = Ten(cat.elems, wide=True)
        tr.op("add", (cat,), (y,), weights=self.w * (tr.h + 1), kernels_fwd=1, kernels_bwd=2)
        tr.modules += 1
        tr.param_tensors += 2
        tr.cur = y

    def build(self):
        from fastscale.layers.torch_modules import TokenEmbed as Module

        return Module(self.w, self.grid * self.grid + 1)


@dataclass(frozen=True, slots=True)
class ClassPool:
    """The class token's features (a copy of token 0, so what the classifier saves is that
    token, not the whole sequence, at every batch size)."""

    w: int

    def complexity(self, cx: Cx) -> None:
        cx.h, cx.w = 1, 1

    def trace(self, tr: Tracer) -> None:
        x = tr.cur
        y = Ten(self.w, wide=x.wide)
        tr.op("copy", (x,), (y,), reads=self.w, kernels_fwd=1, kernels_bwd=2)
        tr.h, tr.w = 1, 1
        tr.modules += 1
        tr.cur = y

    def build(self):
        from fastscale.layers.torch_modules import ClassToken

        return ClassToken()
