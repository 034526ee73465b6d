"""Each layer of the vocabulary, built as a real torch module, counts as its ``complexity()`` says:
params, flops (multiply-adds, bias adds included) and acts by fastscale.build.verify's independent
counter, and the output's spatial size by running it (real torch, CPU)."""

from __future__ import annotations

import pytest
import torch

from fastscale.layers.cx import Cx
from fastscale.layers import SE, Act, Conv, GlobalPool, Linear, MaxPool, Norm, Repeat, Residual, Seq
from fastscale.build.verify import count

RES = 32


class Net:
    """Just enough of a spec for fastscale.build.verify.count: a network of one stem conv and ``node``."""

    def __init__(self, node):
        self.node = node

    def network(self):
        return self.node

    def complexity(self, resolution: int) -> dict:
        cx = Cx(resolution, resolution)
        self.node.complexity(cx)
        return cx.totals()


def stem(w: int) -> Conv:
    return Conv(3, w, 3, stride=2)


def block(w: int) -> Seq:
    return Seq((Conv(w, w, 3, groups=2), Norm(w), Act("relu")))


NODES = {
    "conv strided grouped biased": Seq((stem(8), Conv(8, 16, 3, stride=2, groups=4, bias=True))),
    "norm and silu": Seq((stem(8), Norm(8), Act("silu"))),
    "max-pool": Seq((stem(8), MaxPool(8, 3, 2))),
    "pool and linear head": Seq((stem(8), GlobalPool(), Linear(8, 10))),
    "squeeze-excite": Seq((stem(8), SE(8, 2, "silu"))),
    "repeat x3": Seq((stem(8), Repeat(block(8), 3))),
    "repeat x0": Seq((stem(8), Repeat(block(8), 0))),
    "residual with projection": Seq((stem(8), Residual(Seq((Conv(8, 16, 3, stride=2), Norm(16))),
                                                       proj=Seq((Conv(8, 16, 1, stride=2), Norm(16))), act="relu"))),
    "residual identity": Seq((stem(8), Residual(block(8), identity=True, act="relu"))),
    "residual without shortcut": Seq((stem(8), Residual(block(8)))),
}


@pytest.mark.parametrize("name", NODES)
def test_layer_complexity_matches_the_built_module(name):
    net = Net(NODES[name])
    assert net.complexity(RES) == count(net, RES)


@pytest.mark.parametrize("name", NODES)
def test_layer_output_size_matches_the_analytic_spatial_size(name):
    node = NODES[name]
    cx = Cx(RES, RES)
    node.complexity(cx)
    torch.manual_seed(0)
    out = node.build().eval()(torch.randn(1, 3, RES, RES))
    spatial = tuple(out.shape[2:]) if out.dim() == 4 else (1, 1)
    assert spatial == (cx.h, cx.w)


def test_repeat_builds_independent_copies():
    module = Repeat(block(8), 3).build()
    convs = [m for m in module.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 3 and len({id(c.weight) for c in convs}) == 3
