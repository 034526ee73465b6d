"""The layer vocabulary every model family is written in, and the one place a new operation type
is added.

Each layer is a small frozen dataclass that knows, side by side, its analytic ``complexity``
(pure Python, used by the planner and the API, accumulated in a ``cx.Cx``), its ``trace`` (the
per-operation accounting of ``trace`` that the memory model and the runtime predictor read), and
how to ``build`` itself as a torch module (torch imported only inside ``build``; the few modules
torch.nn lacks are in ``torch_modules``). Keeping them on one class is what makes the analytic
figures and the built module agree by construction; ``fastscale.build.verify`` and
``fastscale.memory.groundtruth`` check it.

Composite nodes (``Seq``, ``Repeat``, ``Residual``, ``SE``, ``Attention``) nest layers into
blocks, stages and networks. ConvNeXt's and ViT's ops (``tokens``, ``patches``, ``attention``)
count as fvcore does; the reference families' as pycls does (README, "What the numbers mean").
"""

from __future__ import annotations

from fastscale.layers.composite import SE, Repeat, Residual, Seq, repeated
from fastscale.layers.attention import Attention
from fastscale.layers.patches import ClassPool, DWConv, MeanPool, Patchify, TokenEmbed
from fastscale.layers.primitives import ACTIVATIONS, Act, Conv, GlobalPool, Linear, MaxPool, Norm, _out
from fastscale.layers.tokens import GELU, LayerNorm, LayerScale, Permute, TokenLinear

__all__ = ["ACTIVATIONS", "GELU", "SE", "Act", "Attention", "ClassPool", "Conv", "DWConv", "GlobalPool",
           "LayerNorm", "LayerScale", "Linear", "MaxPool", "MeanPool", "Norm", "Patchify", "Permute", "Repeat",
           "Residual", "Seq", "TokenEmbed", "TokenLinear", "_out", "repeated"]
