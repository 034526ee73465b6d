"""Timing one step precisely: warm up until iteration times settle, then time iterations until the
median is known to +-1 % (95 % CI), the timed budget is spent, or a hard cap stops the mode.

Three clocks, so that autotuning never eats the measurement (issue #10):
- warm-up has its own wall-clock cap (``warmup_cap_s``); it ends earlier when times settle, or,
  past ``warmup_fraction`` of the budget, once the slow start is over;
- the timed budget (``time_budget_s``) starts only when warm-up ends;
- ``min_iters`` timed iterations always run, past the budget if need be, unless the hard per-mode
  cap (``mode_cap_s``, counted from the start of warm-up) stops the run first.

Each iteration is timed on its own (CUDA events on GPU, so no host clock or sync sits inside the
timed region; perf_counter on CPU), and iterations run in chunks between checks so checking costs
little. The result says why timing stopped (``stop_reason``: converged, budget or cap).

On a GPU the next chunk is queued before the last one is read (``Timer.launch`` / ``collect``),
so the GPU never idles while the host checks. Measured on an H200 (issue #10): the first step
after an idle GPU is slower (EfficientNet-B0 dw 4x training: 98 ms against 83.9 ms back to
back) because the GPU waits on the host's first launches. With a synchronize between chunks of
two 84 ms steps, half of all timed steps were such first steps; their median landed between the
two (95.9 ms, 95 % CI +-12.5 %) and three of the sweep's 17 training steps never converged. Back
to back, the same step's 60 iterations had a CI of +-0.03 %.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Callable

import torch

from workers.profiler.config import ProfileConfig, Progress
from workers.profiler.peaks import PeakMeter
from workers.stats import rel_half_width, summarize

CHECK_EVERY_S = 0.25  # a chunk of timed iterations lasts about this long between checks
MAX_CHUNK = 50


class Timer:
    """Times single iterations: CUDA events on GPU (no host clock), perf_counter on CPU.

    ``run`` times ``count`` iterations and waits for them. ``launch`` only queues them where the
    device runs asynchronously (CUDA) and returns at once; ``collect`` waits for a launched chunk
    and returns its times. On CPU, ``launch`` runs the chunk (there is nothing to overlap).
    """

    def __init__(self, device: torch.device):
        self.cuda = device.type == "cuda"
        self.asynchronous = self.cuda

    def launch(self, fn: Callable[[], None], count: int) -> list:
        if self.cuda:
            events = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)) for _ in range(count)]
            for start, end in events:
                start.record()
                fn()
                end.record()
            return events
        times = []
        for _ in range(count):
            t = time.perf_counter_ns()
            fn()
            times.append((time.perf_counter_ns() - t) / 1e6)
        return times

    def collect(self, chunk: list) -> list[float]:
        if self.cuda:
            chunk[-1][1].synchronize()  # this chunk's last event, not the device: later chunks run on
            return [start.elapsed_time(end) for start, end in chunk]
        return chunk

    def run(self, fn: Callable[[], None], count: int) -> list[float]:
        return self.collect(self.launch(fn, count))


def settled(times: list[float], k: int = 3, tol: float = 0.02) -> bool:
    """The median of the last ``k`` iterations is within ``tol`` of the median of the ``k`` before.

    Medians, not means: one slow iteration in a window (a first call that autotunes, a page fault)
    neither settles nor unsettles it.
    """
    if len(times) < 2 * k:
        return False
    return abs(statistics.median(times[-k:]) / statistics.median(times[-2 * k:-k]) - 1) <= tol


def recovered(times: list[float], k: int = 3, slack: float = 1.0) -> bool:
    """The slow start is over: the median of the last ``k`` iterations is within ``slack`` of the
    fastest iteration seen (twice it, by default). Autotuning iterations run many times slower
    than the steady state, while a noisy but steady step (a busy CPU) often stays within 2x of its
    best, so this ends warm-up for it where ``settled`` (2 %) never would."""
    return len(times) >= k and statistics.median(times[-k:]) <= (1 + slack) * min(times)


WARMUP_CHECK_S = 1.0


def warm_up(timer: Timer, fn: Callable[[], None], soft_until: float, hard_until: float,
            check: Callable[[int], None] = lambda n: None) -> tuple[list[float], str]:
    """Iterate (at least twice) until the times settle; past ``soft_until`` (monotonic) also until the
    slow start is over; at ``hard_until`` stop regardless. Returns (times, why it ended).
    ``check(iterations so far)`` runs about every WARMUP_CHECK_S: the job's progress report, which
    raises when the job was cancelled (issue 23: a cancel once waited out an 84 s warm-up)."""
    warm: list[float] = []
    checked = time.monotonic()
    while True:
        warm += timer.run(fn, 1)
        if time.monotonic() - checked >= WARMUP_CHECK_S:
            check(len(warm))
            checked = time.monotonic()
        if len(warm) < 2:
            continue
        if settled(warm):
            return warm, "settled"
        now = time.monotonic()
        if now >= hard_until:
            return warm, "cap"
        if now >= soft_until and recovered(warm):
            return warm, "recovered"


def drift(times: list[float]) -> float:
    """Relative change of the median from the first half of the run to the second: a step whose
    speed moves (clocks ramping, throttling, a neighbour's load) has no single median to report."""
    half = len(times) // 2
    if half < 2:
        return 0.0
    return statistics.median(times[half:]) / statistics.median(times[:half]) - 1


@dataclass
class Limits:
    """The monotonic deadlines of one mode's timed phase."""

    budget_end: float
    cap_end: float


def _chunk(per_iter_s: float, n: int, cfg: ProfileConfig, limits: Limits, start: float | None = None) -> int:
    """Iterations to run before the next check: about CHECK_EVERY_S, no further than the budget
    reaches unless ``min_iters`` still needs them, never past the hard cap (but at least one).
    ``start``: when the chunk will begin (monotonic; now unless chunks are queued before it)."""
    now = time.monotonic() if start is None else start
    chunk = max(1, min(MAX_CHUNK, int(CHECK_EVERY_S / per_iter_s)))
    chunk = min(chunk, max(1, int((limits.budget_end - now) / per_iter_s), cfg.min_iters - n))
    return max(1, min(chunk, int((limits.cap_end - now) / per_iter_s), cfg.max_iters - n))


def _ahead(per_iter_s: float, n: int, queued: int, cfg: ProfileConfig, limits: Limits) -> int:
    """The chunk to queue behind ``queued`` iterations still running, so the device stays busy while
    they are checked; 0 where it would run past the cap, or past the budget once min_iters are in
    (the check that is coming is then likely the last)."""
    start = time.monotonic() + queued * per_iter_s
    if n + queued >= cfg.max_iters or start + per_iter_s > limits.cap_end:
        return 0
    if n + queued >= cfg.min_iters and start + per_iter_s > limits.budget_end:
        return 0
    return _chunk(per_iter_s, n + queued, cfg, limits, start)


def converged(times: list[float], summary: dict, cfg: ProfileConfig) -> bool:
    """n >= min_iters, the median's 95 % CI within +-target, and no drift beyond twice that."""
    return (len(times) >= cfg.min_iters and rel_half_width(summary) <= cfg.target_rel_ci
            and abs(drift(times)) <= 2 * cfg.target_rel_ci)


def _stop_reason(times: list[float], per_iter_s: float, cfg: ProfileConfig, limits: Limits) -> str | None:
    """Why to stop now, short of convergence: the budget (only once min_iters ran), or the cap."""
    now = time.monotonic()
    if len(times) >= cfg.max_iters:
        return "budget"
    if len(times) >= cfg.min_iters and now + per_iter_s > limits.budget_end:
        return "budget"
    if now + per_iter_s > limits.cap_end:
        return "cap"
    return None


def time_iterations(timer: Timer, fn: Callable[[], None], cfg: ProfileConfig, limits: Limits, per_iter_s: float,
                    report: Callable[[list[float], dict], None]) -> tuple[list[float], str]:
    """Timed iterations in chunks until converged or stopped; (times, stop_reason). At least one.

    Where the timer is asynchronous, the next chunk is queued before this one is read. When the
    loop stops, a chunk queued behind the deciding one is waited for and left out: the result
    holds exactly the iterations the decision was taken on.
    """
    times: list[float] = []
    pending = timer.launch(fn, _chunk(per_iter_s, 0, cfg, limits))
    while True:
        queued = len(pending)
        size = _ahead(per_iter_s, len(times), queued, cfg, limits) if timer.asynchronous else 0
        ahead = timer.launch(fn, size) if size else None
        times += timer.collect(pending)
        summary = summarize(times)
        report(times, summary)
        per_iter_s = max(summary["median_ms"] / 1e3, 1e-6)
        reason = "converged" if converged(times, summary, cfg) else _stop_reason(times, per_iter_s, cfg, limits)
        if reason:
            if ahead:
                timer.collect(ahead)
            return times, reason
        pending = ahead or timer.launch(fn, _chunk(per_iter_s, len(times), cfg, limits))


def measure(fn: Callable[[], None], device: torch.device, cfg: ProfileConfig, progress: Progress, mode: str,
            timer: Timer | None = None) -> dict:
    """Warm up, then time until the median's CI is tight, the timed budget is spent or the cap hits.
    Device memory is read as the steady state of the timed iterations (``peaks``). ``timer``: the
    device's own unless given (tests give one that reports scripted times, which no load moves)."""
    timer = timer or Timer(device)
    peaks = PeakMeter(device)
    peaks.start()
    started = time.monotonic()
    cap_end = started + cfg.mode_cap_s
    progress(f"{mode}: warm-up")
    warm, warm_end = warm_up(timer, fn, started + cfg.time_budget_s * cfg.warmup_fraction,
                             min(started + cfg.warmup_cap_s, cap_end),
                             check=lambda n: progress(f"{mode}: warm-up", n=n))
    peaks.warmed_up()
    timed_from = time.monotonic()
    limits = Limits(budget_end=timed_from + cfg.time_budget_s, cap_end=cap_end)

    def report(times: list[float], summary: dict) -> None:
        progress(f"{mode}: timing", n=len(times), rel_ci=round(rel_half_width(summary), 4),
                 median_ms=round(summary["median_ms"], 4))

    per_iter_s = max(statistics.median(warm[-3:]) / 1e3, 1e-6)
    times, reason = time_iterations(timer, fn, cfg, limits, per_iter_s, report)
    summary = summarize(times)
    summary.update(stable=reason == "converged", stop_reason=reason, rel_ci=rel_half_width(summary),
                   drift=drift(times), warmup_iters=len(warm), warmup_ms=sum(warm), warmup_stop=warm_end,
                   timed_s=time.monotonic() - timed_from)
    summary["throughput_per_s"] = cfg.batch_size / (summary["median_ms"] / 1e3)
    summary.update(peaks.read())
    return summary
