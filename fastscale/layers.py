"""The layer vocabulary every model family is written in.

Each layer is a small frozen dataclass that knows two things side by side: its analytic
``complexity`` (pure Python, used by the planner and the API) and how to ``build`` itself as a
torch module (torch imported only inside ``build``). Keeping both on one class is what makes the
analytic figures and the built module agree by construction; ``fastscale.verify`` checks it.

Composite nodes (``Seq``, ``Repeat``, ``Residual``, ``SE``) nest layers into blocks, stages and
networks. ``Repeat`` lets a stage's identical blocks be counted once and multiplied, which keeps
analytic complexity O(stages) rather than O(blocks) for the nearest-rounding search.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastscale.cx import Cx


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

    def build(self):
        import torch.nn as nn

        pad = (self.k - 1) // 2
        return nn.Conv2d(self.w_in, self.w_out, self.k, self.stride, pad, groups=self.groups, bias=self.bias)


@dataclass(frozen=True, slots=True)
class Norm:
    w: int

    def complexity(self, cx: Cx) -> None:
        cx.params += 2 * self.w

    def build(self):
        import torch.nn as nn

        return nn.BatchNorm2d(self.w)


ACTIVATIONS = ("relu", "silu")


@dataclass(frozen=True, slots=True)
class Act:
    kind: str

    def complexity(self, cx: Cx) -> None:
        return None

    def build(self):
        import torch.nn as nn

        return nn.ReLU(inplace=True) if self.kind == "relu" else nn.SiLU(inplace=True)


@dataclass(frozen=True, slots=True)
class MaxPool:
    """Max-pool of the ResNet stem: no flops or params, but its output counts as activations.

    PAPER.md says pooling adds nothing, yet the reference's own figures (zoo_complexity.json, and
    pycls's pool2d_cx) count this output: every ResNet/ResNeXt there carries 64*56*56 such acts.
    We follow the figures, and ``fastscale.verify`` hooks max-pool outputs to match.
    """

    w: int
    k: int
    stride: int

    def complexity(self, cx: Cx) -> None:
        cx.h, cx.w = _out(cx.h, self.stride), _out(cx.w, self.stride)
        cx.acts += self.w * cx.h * cx.w

    def build(self):
        import torch.nn as nn

        return nn.MaxPool2d(self.k, self.stride, (self.k - 1) // 2)


@dataclass(frozen=True, slots=True)
class GlobalPool:
    def complexity(self, cx: Cx) -> None:
        cx.h, cx.w = 1, 1

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

    def build(self):
        import torch.nn as nn

        return nn.Linear(self.w_in, self.w_out, bias=True)


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

    def build(self):
        from fastscale.torch_modules import SqueezeExcite

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

    def build(self):
        import torch.nn as nn

        return nn.Sequential(*(self.node.build() for _ in range(self.times)))


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

    def build(self):
        from fastscale.torch_modules import ResidualModule

        proj = self.proj.build() if self.proj is not None else None
        act = Act(self.act).build() if self.act else None
        return ResidualModule(self.main.build(), proj, self.identity, act)
