"""The independent count of ConvNeXt and ViT figures under fvcore's conventions (imports torch).

Counted on the meta device, from the built module: flops are torch.utils.flop_counter's
multiply-adds of convolutions and matrix products (no bias adds, as fvcore), plus five per input
element of every layer norm and one per input element of every adaptive average pool (fvcore's
``norm_flop_counter`` and ``elementwise_flop_counter``); acts are the output elements of every
convolution and matrix product torch dispatches (the linears' and both attention products').
"""

from __future__ import annotations

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import FlopCounterMode

from fastscale.build.builder import build_model

aten = torch.ops.aten
PRODUCTS = (aten.convolution.default, aten.addmm.default, aten.mm.default, aten.bmm.default)
NORM_FLOPS = 5


class _Outputs(TorchDispatchMode):
    """Sums the output elements of the ops in PRODUCTS."""

    def __init__(self):
        super().__init__()
        self.acts = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if func in PRODUCTS:
            self.acts += out.numel()
        return out


def count_fvcore(arch, resolution: int) -> dict[str, int]:
    model = build_model(arch, "meta").eval()
    extra = 0

    def norm(module, inputs, _output):
        nonlocal extra
        extra += NORM_FLOPS * inputs[0].numel()

    def pool(module, inputs, _output):
        nonlocal extra
        extra += inputs[0].numel()

    handles = [m.register_forward_hook(norm) for m in model.modules() if isinstance(m, nn.LayerNorm)]
    handles += [m.register_forward_hook(pool) for m in model.modules() if isinstance(m, nn.AdaptiveAvgPool2d)]
    x = torch.empty(1, 3, resolution, resolution, device="meta")
    counter, outputs = FlopCounterMode(display=False), _Outputs()
    with torch.no_grad(), counter, outputs:
        model(x)
    for h in handles:
        h.remove()
    params = sum(p.numel() for p in model.parameters())
    return {"flops": counter.get_total_flops() // 2 + extra, "params": params, "acts": outputs.acts}
