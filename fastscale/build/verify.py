"""Count a built module independently of the analytic formulas, on the meta device.

params: the sum of ``parameters()`` (BatchNorm weight and bias included, running stats are
buffers and excluded). acts: forward hooks on conv, linear and max-pool outputs at batch 1 (the
reference counts the ResNet stem's max-pool output too). flops: torch.utils.flop_counter's
FlopCounterMode, halved to multiply-adds; it does not count bias additions, which the reference
counts as one add per output channel of a biased layer, so the hooks add those.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from fastscale.build.builder import build_model

COUNTED = (nn.Conv2d, nn.Linear, nn.MaxPool2d)


@dataclass(frozen=True)
class Verification:
    analytic: dict
    counted: dict

    @property
    def ok(self) -> bool:
        return self.analytic == self.counted

    def to_dict(self) -> dict:
        return {"ok": self.ok, "analytic": self.analytic, "counted": self.counted}


def count(arch, resolution: int) -> dict[str, int]:
    if getattr(arch, "counting", "pycls") == "fvcore":  # ConvNeXt, ViT: fvcore's conventions
        from fastscale.build.fvcore_count import count_fvcore

        return count_fvcore(arch, resolution)
    model = build_model(arch, "meta").eval()
    acts = bias_adds = 0

    def hook(module, _inputs, output):
        nonlocal acts, bias_adds
        acts += output.numel()
        if getattr(module, "bias", None) is not None:
            bias_adds += module.out_channels if isinstance(module, nn.Conv2d) else module.out_features

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, COUNTED)]
    x = torch.empty(1, 3, resolution, resolution, device="meta")
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        model(x)
    for h in handles:
        h.remove()
    params = sum(p.numel() for p in model.parameters())
    return {"flops": counter.get_total_flops() // 2 + bias_adds, "params": params, "acts": acts}


def verify(arch, resolution: int) -> Verification:
    return Verification(arch.complexity(resolution), count(arch, resolution))


def verify_plan(plan) -> Verification:
    return verify(plan.arch, plan.resolution)
