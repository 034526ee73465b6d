"""Pointwise ops of ConvNeXt and ViT: layer norm (channels-first and -last), linear on tokens,
GELU, layer scale, and the permutes between the two layouts.

These families count as fvcore does (README, "What the numbers mean"): a linear's flops are its
multiplications (no bias adds), a layer norm's are five per element, and acts are the outputs of
convs, linears and the attention products. A spatial map of ``h x w`` positions and a sequence of
``n`` tokens are the same thing to these ops: the walk keeps a sequence as ``h = n, w = 1``.

Under autocast (CPU and CUDA alike for the ops here) the layer norm, GELU and the layer-scale
multiply run in their input's dtype, except that multiplying by a float32 parameter promotes to
float32: such a tensor is ``wide`` in the trace, and a matrix product that reads it saves its own
low-precision copy (``save_operand``), where in float32 it saves the tensor itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastscale.layers.cx import Cx
from fastscale.layers.trace import Op, Ten, Tracer

NORM_FLOPS = 5  # fvcore's count per element of an affine norm


def save_operand(tr: Tracer, op: Op, t: Ten) -> None:
    """A conv's or matmul's input: under autocast a wide (float32) one is saved as its own
    low-precision copy, which in float32 is the tensor itself: compute-dtype bytes either way."""
    if t.wide:
        op.saved += t.elems
        op.saved_tensors += 1
    else:
        tr.save(op, t)


@dataclass(frozen=True, slots=True)
class LayerNorm:
    """Layer norm over the channels: channels-first (``LayerNorm2d``, on an NCHW map, as the
    ConvNeXt stem and downsampling layers use it) or channels-last (``nn.LayerNorm``)."""

    w: int
    channels_last: bool = True

    def complexity(self, cx: Cx) -> None:
        cx.flops += NORM_FLOPS * self.w * cx.h * cx.w
        cx.params += 2 * self.w

    def trace(self, tr: Tracer) -> None:
        """Saves its input and a float32 mean and inverse std per position."""
        x = tr.cur
        y = Ten(x.elems, wide=x.wide)
        positions = x.elems // self.w
        op = tr.op("norm", (x,), (y,), flops=NORM_FLOPS * x.elems, weights=2 * self.w, saved_f32=2 * positions,
                   kernels_fwd=1 + 2 * (not self.channels_last), kernels_bwd=2)
        tr.save(op, x)
        op.saved_tensors += 2
        tr.modules += 1
        tr.param_tensors += 2
        tr.cur = y

    def build(self):
        import torch.nn as nn

        if self.channels_last:
            return nn.LayerNorm(self.w, eps=1e-6)
        from fastscale.layers.torch_modules import LayerNorm2d

        return LayerNorm2d(self.w, eps=1e-6)


@dataclass(frozen=True, slots=True)
class TokenLinear:
    """A linear layer applied at every position (token) of a channels-last tensor; on one
    position (a classifier) it is the plain linear layer, without counting its bias adds."""

    w_in: int
    w_out: int

    def complexity(self, cx: Cx) -> None:
        positions = cx.h * cx.w
        cx.flops += positions * self.w_in * self.w_out
        cx.params += self.w_in * self.w_out + self.w_out
        cx.acts += positions * self.w_out

    def trace(self, tr: Tracer) -> None:
        """Saves its input (a copy when it is wide, under autocast) and its weight's cast."""
        x = tr.cur
        positions = tr.h * tr.w
        y = Ten(positions * self.w_out)
        weights = self.w_in * self.w_out
        op = tr.op("mm" if positions > 1 else "linear", (x,), (y,), flops=positions * weights,
                   weights=weights + self.w_out, saved_casts=weights, casts=2 + x.wide, kernels_fwd=1, kernels_bwd=3)
        save_operand(tr, op, x)
        tr.modules += 1
        tr.param_tensors += 2
        tr.cur = y

    def build(self):
        import torch.nn as nn

        return nn.Linear(self.w_in, self.w_out, bias=True)


@dataclass(frozen=True, slots=True)
class GELU:
    """Exact GELU (erf), out of place: saves its input."""

    def complexity(self, cx: Cx) -> None:
        return None

    def trace(self, tr: Tracer) -> None:
        x = tr.cur
        y = Ten(x.elems, wide=x.wide)
        tr.save(tr.op("gelu", (x,), (y,), kernels_fwd=1, kernels_bwd=1), x)
        tr.modules += 1
        tr.cur = y

    def build(self):
        import torch.nn as nn

        return nn.GELU()


@dataclass(frozen=True, slots=True)
class LayerScale:
    """ConvNeXt's per-channel learned scale (channels-last): ``w`` parameters, no counted flops
    (fvcore counts no element-wise multiply). Multiplying by the float32 parameter promotes."""

    w: int

    def complexity(self, cx: Cx) -> None:
        cx.params += self.w

    def trace(self, tr: Tracer) -> None:
        """Saves its input, for the parameter's gradient; its output is float32 (wide)."""
        x = tr.cur
        y = Ten(x.elems, wide=True)
        tr.save(tr.op("mul", (x,), (y,), weights=self.w, kernels_fwd=1, kernels_bwd=3), x)
        tr.modules += 1
        tr.param_tensors += 1
        tr.cur = y

    def build(self):
        from fastscale.layers.torch_modules import LayerScale as Module

        return Module(self.w)


@dataclass(frozen=True, slots=True)
class Permute:
    """NCHW to NHWC (``to_last``) or back: a view, no kernel, nothing saved."""

    to_last: bool

    def complexity(self, cx: Cx) -> None:
        return None

    def trace(self, tr: Tracer) -> None:
        tr.modules += 1

    def build(self):
        from fastscale.layers.torch_modules import Permute as Module

        return Module((0, 2, 3, 1) if self.to_last else (0, 3, 1, 2))
