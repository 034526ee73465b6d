"""The few torch modules the layer vocabulary needs beyond torch.nn (imported only by build)."""

from __future__ import annotations

import torch
from torch import nn


class SqueezeExcite(nn.Module):
    def __init__(self, reduce: nn.Module, act: nn.Module, expand: nn.Module):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.reduce, self.act, self.expand = reduce, act, expand

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(self.expand(self.act(self.reduce(self.pool(x)))))


class ResidualModule(nn.Module):
    def __init__(self, main: nn.Module, proj: nn.Module | None, identity: bool, act: nn.Module | None):
        super().__init__()
        self.main, self.proj, self.identity, self.act = main, proj, identity, act

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.main(x)
        if self.proj is not None:
            out = out + self.proj(x)
        elif self.identity:
            out = out + x
        return self.act(out) if self.act is not None else out
