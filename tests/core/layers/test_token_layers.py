"""The ConvNeXt and ViT ops one by one: each, built as a real torch module, counts as its
``complexity()`` says under fvcore's conventions (fastscale.build.fvcore_count, meta device), and
its trace's saved bytes equal what autograd saves (CPU, float32 and bfloat16 autocast)."""

from __future__ import annotations

import pytest

from fastscale.layers import (GELU, Attention, ClassPool, DWConv, LayerNorm, LayerScale, MeanPool, Patchify, Permute,
                              Residual, Seq, TokenEmbed, TokenLinear)
from fastscale.layers.cx import Cx

torch = pytest.importorskip("torch")
RES = 32


class Net:
    """Just enough of a spec: ``node`` as the network, counted as fvcore counts."""

    counting = "fvcore"

    def __init__(self, node):
        self.node = node

    def network(self):
        return self.node

    def complexity(self, resolution: int) -> dict:
        cx = Cx(resolution, resolution)
        self.node.complexity(cx)
        return cx.totals()


def tokens(w: int = 32):
    """A 4x4 patch map as 17 tokens of width ``w``."""
    return Seq((Patchify(3, w, 8), TokenEmbed(w, 4)))


NODES = {
    "patchify and channels-first norm": Seq((Patchify(3, 16, 4), LayerNorm(16, channels_last=False))),
    "depthwise 7x7": Seq((Patchify(3, 16, 4), DWConv(16, 7))),
    "channels-last norm, linear, GELU, layer scale": Seq((
        Patchify(3, 16, 4), Permute(True), LayerNorm(16), TokenLinear(16, 64), GELU(), TokenLinear(64, 16),
        LayerScale(16), Permute(False))),
    "downsample and mean pool head": Seq((Patchify(3, 16, 4), LayerNorm(16, channels_last=False), Patchify(16, 32, 2),
                                          MeanPool(32), LayerNorm(32), TokenLinear(32, 10))),
    "token embedding and class token head": Seq((tokens(), LayerNorm(32), ClassPool(32), TokenLinear(32, 10))),
    "attention, two heads": Seq((tokens(), Residual(Seq((LayerNorm(32), Attention(32, 2))), identity=True),
                                 ClassPool(32), TokenLinear(32, 10))),
    "attention, one head": Seq((tokens(16), Attention(16, 1), ClassPool(16), TokenLinear(16, 10))),
}


@pytest.mark.parametrize("name", NODES)
def test_op_complexity_matches_the_built_module(name):
    from fastscale.build.verify import count

    net = Net(NODES[name])
    assert net.complexity(RES) == count(net, RES)


@pytest.mark.parametrize("name", [n for n in NODES if "head" in n])
def test_op_saved_bytes_match_autograd(name):
    from fastscale.memory import saved_activation_bytes
    from fastscale.memory.groundtruth import build_for_counting, saved_storage_bytes
    from fastscale.memory.walk import trace

    net = Net(NODES[name])
    model = build_for_counting(net)
    for dtype in ("float32", "bfloat16"):
        for batch in (1, 2):
            expected = saved_storage_bytes(model, RES, batch, dtype)
            assert saved_activation_bytes(trace(net, RES), batch, dtype) == expected, (dtype, batch)
