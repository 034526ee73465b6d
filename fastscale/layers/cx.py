"""Complexity accumulator: spatial size plus running flops, params and acts.

Conventions (the reference's, see PAPER.md): flops are multiply-adds; params include BatchNorm
weight and bias; acts count the output elements of every conv and linear layer at batch 1.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class Cx:
    h: int
    w: int
    flops: int = 0
    params: int = 0
    acts: int = 0

    def totals(self) -> dict[str, int]:
        return {"flops": self.flops, "params": self.params, "acts": self.acts}
