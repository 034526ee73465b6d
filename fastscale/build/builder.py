"""Plan -> torch.nn.Module with exactly the plan's architecture (imports torch)."""

from __future__ import annotations

import torch
from torch import nn


def build_model(arch, device: torch.device | str | None = None) -> nn.Module:
    """Build a spec (AnyNet, RegNet or EffNet) as a torch module, optionally straight onto ``device``.

    Building under ``torch.device('meta')`` allocates nothing, which is how ``verify`` counts
    even 64x models on a laptop.
    """
    if device is None:
        return arch.network().build()
    with torch.device(device):
        return arch.network().build()


def build_plan(plan, device: torch.device | str | None = None) -> nn.Module:
    return build_model(plan.arch, device)
