"""Timing one step precisely: warm up until iteration times settle, then time iterations until the
median is known to +-1 % (95 % CI) or the budget is spent.

Each iteration is timed on its own (CUDA events on GPU, so no host clock or sync sits inside the
timed region; perf_counter on CPU), and timed iterations are run in chunks between checks so
checking costs little.
"""

from __future__ import annotations

import time
from typing import Callable

import torch

from workers.profiler.config import ProfileConfig, Progress
from workers.stats import rel_half_width, summarize


class Timer:
    """Times single iterations: CUDA events on GPU (no host clock), perf_counter on CPU."""

    def __init__(self, device: torch.device):
        self.cuda = device.type == "cuda"

    def run(self, fn: Callable[[], None], count: int) -> list[float]:
        if self.cuda:
            events = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)) for _ in range(count)]
            for start, end in events:
                start.record()
                fn()
                end.record()
            torch.cuda.synchronize()
            return [start.elapsed_time(end) for start, end in events]
        times = []
        for _ in range(count):
            t = time.perf_counter_ns()
            fn()
            times.append((time.perf_counter_ns() - t) / 1e6)
        return times


def settled(times: list[float], k: int = 3, tol: float = 0.02) -> bool:
    """The median of the last ``k`` iterations is within ``tol`` of the median of the ``k`` before."""
    if len(times) < 2 * k:
        return False
    last = sorted(times[-k:])[k // 2]
    before = sorted(times[-2 * k:-k])[k // 2]
    return abs(last / before - 1) <= tol


def warm_up(timer: Timer, fn: Callable[[], None], until: float) -> list[float]:
    """Iterate until the times settle (at least two iterations) or the monotonic clock passes ``until``."""
    warm: list[float] = []
    while True:
        warm += timer.run(fn, 1)
        if len(warm) >= 2 and (settled(warm) or time.monotonic() > until):
            return warm


def measure(fn: Callable[[], None], device: torch.device, cfg: ProfileConfig, progress: Progress, mode: str) -> dict:
    """Warm up until settled, then time until the median's CI is tight or the budget is spent."""
    timer = Timer(device)
    started = time.monotonic()
    budget_end = started + cfg.time_budget_s
    progress(f"{mode}: warm-up")
    warm = warm_up(timer, fn, started + cfg.time_budget_s * cfg.warmup_fraction)
    # Batch the iterations between checks so checking costs little, but keep each batch short.
    per_iter_s = max(min(warm[-3:]) / 1e3, 1e-5)
    chunk = max(1, min(50, int(0.25 / per_iter_s)))
    times: list[float] = []
    summary: dict = {}
    stable = False
    while len(times) < cfg.max_iters:
        times += timer.run(fn, chunk)
        summary = summarize(times)
        rel = rel_half_width(summary)
        progress(f"{mode}: timing", n=len(times), rel_ci=round(rel, 4), median_ms=round(summary["median_ms"], 4))
        if len(times) >= cfg.min_iters and rel <= cfg.target_rel_ci:
            stable = True
            break
        if time.monotonic() + chunk * per_iter_s > budget_end:
            break
    summary.update(stable=stable, warmup_iters=len(warm), warmup_ms=sum(warm))
    summary["throughput_per_s"] = cfg.batch_size / (summary["median_ms"] / 1e3)
    return summary
