"""What a profile measures and how: ``ProfileConfig``, and the dtypes and modes it knows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
MODES = ("inference", "training")

Progress = Callable[..., None]


def no_progress(*_args, **_kwargs) -> None:
    return None


@dataclass
class ProfileConfig:
    batch_size: int = 64
    modes: tuple = MODES
    dtype: str = "float32"
    channels_last: bool = False
    time_budget_s: float = 10.0  # per mode, timed iterations only: it starts once warm-up ends
    target_rel_ci: float = 0.01
    min_iters: int = 10
    max_iters: int = 100_000
    # Warm-up ends when iteration times settle. Past this share of the budget it also ends as soon
    # as the slow start (autotuning) is over, so a noisy step does not warm up until the cap.
    warmup_fraction: float = 0.3
    warmup_cap_s: float = 60.0  # wall-clock cap on warm-up alone (cuDNN autotuning included)
    mode_cap_s: float = 300.0  # hard wall-clock cap on one mode, warm-up included; beats min_iters
    cuda_graphs: bool = False  # also time inference as a CUDA graph replay, beside eager
    find_max_batch: bool = False  # bisect for the largest batch that fits, per mode
    max_batch_limit: int = 8192
    seed: int = 0
    num_classes: int | None = None  # None: read off the model's final linear layer

    @property
    def memory_format(self) -> torch.memory_format:
        return torch.channels_last if self.channels_last else torch.contiguous_format
