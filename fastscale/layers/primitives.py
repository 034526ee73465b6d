"""Leaf layers: conv, batch norm, activation, pooling, linear.

Each knows, side by side: its analytic ``complexity`` (the planner's hot path, kept minimal), its
``trace`` (the separate accounting walk of ``fastscale.layers.trace``: tensors saved for backward as
torch saves them, live tensors, traffic, kernels), and how to ``build`` itself as a torch module
(torch imported only inside ``build``).
"""

from __future__ import annotations

from dataclasses import dataclass

from fastscale.layers.cx import Cx
from fastscale.layers.trace import Ten, Tracer


def _out(size: int, stride: int) -> int:
    # Odd kernels with "same" padding: ceil(size / stride), written as the reference does.
    return (size - 1) // stride + 1


@dataclass(frozen=True, slots=True)
class Conv:
    w_in: int
    w_out: int
    k: int
    stride: int = 1
    groups: int = 1
    bias: bool = False

    def complexity(self, cx: Cx) -> None:
        cx.h, cx.w = _out(cx.h, self.stride), _out(cx.w, self.stride)
        weights = self.k * self.k * self.w_in * self.w_out // self.groups
        bias = self.w_out if self.bias else 0
        cx.flops += weights * cx.h * cx.w + bias
        cx.params += weights + bias
        cx.acts += self.w_out * cx.h * cx.w

    def trace(self, tr: Tracer) -> None:
        """Saves its input (and, under autocast, its low-precision weight copy).

        Backward: grad of input (not for the network input), of weight, and of bias; the bias
        is added by a kernel of its own in eager PyTorch.
        """
        x = tr.cur
        tr.h, tr.w = _out(tr.h, self.stride), _out(tr.w, self.stride)
        y = Ten(self.w_out * tr.h * tr.w)
        weights = self.k * self.k * self.w_in * self.w_out // self.groups
        bias = self.w_out if self.bias else 0
        op = tr.op("conv", (x,), (y,), flops=weights * tr.h * tr.w + bias, weights=weights + bias,
                   saved_casts=weights, workspace=x.elems + y.elems,
                   planes=self.w_in // self.groups * self.w_out, group_in=self.w_in // self.groups,
                   casts=1 + bool(bias) + x.network_input, kernels_fwd=1 + bool(bias),
                   kernels_bwd=(not x.network_input) + 1 + bool(bias))
        tr.save(op, x)
        tr.modules += 1
        tr.param_tensors += 1 + bool(bias)
        tr.cur = y

    def build(self):
        import torch.nn as nn

        pad = (self.k - 1) // 2
        return nn.Conv2d(self.w_in, self.w_out, self.k, self.stride, pad, groups=self.groups, bias=self.bias)


@dataclass(frozen=True, slots=True)
class Norm:
    w: int

    def complexity(self, cx: Cx) -> None:
        cx.params += 2 * self.w

    def trace(self, tr: Tracer) -> None:
        """Training batch norm saves its input, the batch's mean and inverse std (float32), and its
        running mean and var (buffers: saved, but not new memory)."""
        x = tr.cur
        y = Ten(x.elems)
        op = tr.op("norm", (x,), (y,), weights=2 * self.w, saved_stats=2 * self.w,
                   saved_buffers=2 * self.w, kernels_fwd=1, kernels_bwd=1)
        tr.save(op, x)
        op.saved_tensors += 2
        tr.modules += 1
        tr.param_tensors += 2
        tr.buffer_tensors += 3  # running mean, running var, num_batches_tracked
        tr.buffer_elems += 2 * self.w + 2  # the counter is one int64: two float32 slots
        tr.cur = y

    def build(self):
        import torch.nn as nn

        return nn.BatchNorm2d(self.w)


ACTIVATIONS = ("relu", "silu")


@dataclass(frozen=True, slots=True)
class Act:
    kind: str

    def complexity(self, cx: Cx) -> None:
        return None

    def trace(self, tr: Tracer) -> None:
        """In place. ReLU saves its output (the same storage as its input, so a following conv
        saving it adds nothing); in-place SiLU needs its input, which it overwrites, so autograd
        saves a clone of it (a training-only copy kernel)."""
        x = tr.cur
        op = tr.op(self.kind, (x,), (x,), kernels_fwd=1, kernels_bwd=1 + (self.kind == "silu"))
        if self.kind == "relu":
            tr.save(op, x)
        else:
            op.saved += x.elems
            op.saved_tensors += 1
        tr.modules += 1

    def build(self):
        import torch.nn as nn

        return nn.ReLU(inplace=True) if self.kind == "relu" else nn.SiLU(inplace=True)


@dataclass(frozen=True, slots=True)
class MaxPool:
    """Max-pool of the ResNet stem: no flops or params, but its output counts as activations.

    PAPER.md says pooling adds nothing, yet the reference's own figures (zoo_complexity.json, and
    pycls's pool2d_cx) count this output: every ResNet/ResNeXt there carries 64*56*56 such acts.
    We follow the figures, and ``fastscale.build.verify`` hooks max-pool outputs to match.
    """

    w: int
    k: int
    stride: int

    def complexity(self, cx: Cx) -> None:
        cx.h, cx.w = _out(cx.h, self.stride), _out(cx.w, self.stride)
        cx.acts += self.w * cx.h * cx.w

    def trace(self, tr: Tracer) -> None:
        """Saves its input and int64 argmax indices; eager CUDA computes the indices in eval too."""
        x = tr.cur
        tr.h, tr.w = _out(tr.h, self.stride), _out(tr.w, self.stride)
        y = Ten(self.w * tr.h * tr.w)
        op = tr.op("maxpool", (x,), (y,), saved_i64=y.elems, live_i64=y.elems, kernels_fwd=1, kernels_bwd=1)
        tr.save(op, x)
        op.saved_tensors += 1
        tr.modules += 1
        tr.cur = y

    def build(self):
        import torch.nn as nn

        return nn.MaxPool2d(self.k, self.stride, (self.k - 1) // 2)


@dataclass(frozen=True, slots=True)
class GlobalPool:
    def complexity(self, cx: Cx) -> None:
        cx.h, cx.w = 1, 1

    def trace(self, tr: Tracer) -> None:
        """A mean over height and width (what adaptive 1x1 pooling runs): saves nothing."""
        x = tr.cur
        y = Ten(x.elems // (tr.h * tr.w))
        tr.op("pool", (x,), (y,), kernels_fwd=1, kernels_bwd=1)
        tr.h, tr.w = 1, 1
        tr.modules += 3  # Sequential(AdaptiveAvgPool2d, Flatten)
        tr.cur = y

    def build(self):
        import torch.nn as nn

        return nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(1))


@dataclass(frozen=True, slots=True)
class Linear:
    w_in: int
    w_out: int

    def complexity(self, cx: Cx) -> None:
        cx.flops += self.w_in * self.w_out + self.w_out
        cx.params += self.w_in * self.w_out + self.w_out
        cx.acts += self.w_out

    def trace(self, tr: Tracer) -> None:
        """Saves its input (and its weight's low-precision copy under autocast); backward: two
        matrix products and a bias reduction."""
        x = tr.cur
        y = Ten(self.w_out)
        weights = self.w_in * self.w_out
        op = tr.op("linear", (x,), (y,), flops=weights + self.w_out, weights=weights + self.w_out,
                   saved_casts=weights, casts=2, kernels_fwd=1, kernels_bwd=3)
        tr.save(op, x)
        tr.modules += 1
        tr.param_tensors += 2
        tr.cur = y

    def build(self):
        import torch.nn as nn

        return nn.Linear(self.w_in, self.w_out, bias=True)
