"""Out-of-memory handling: recognising it on GPU and CPU, saying what was asked and free, releasing
what a failed step held, and searching for the largest batch that fits: from the memory model's
prediction and bracket where the job has one (``find_max_batch``: a few trial steps), else by
doubling and bisection (``largest_batch``)."""

from __future__ import annotations

import contextlib
import gc
import re
from typing import Callable

import torch

from workers.limits import status_bytes, trim_heap
from workers.profiler.config import ProfileConfig


BatchPredictor = Callable[[str, int], tuple[int, tuple[int, int]]]  # (mode, budget) -> (largest, (lo, hi))


class ProfileOOM(RuntimeError):
    """The model does not fit at this batch size; the message names what was asked and free."""


def is_oom(exc: BaseException) -> bool:
    """CUDA's OutOfMemoryError, or the CPU allocator's failure (e.g. under a worker memory cap)."""
    if isinstance(exc, torch.cuda.OutOfMemoryError):
        return True
    text = str(exc)
    # On CPU, oneDNN reports a failed allocation as "could not create a primitive", and C++ code
    # as std::bad_alloc: the same out-of-memory condition in other words.
    markers = ("can't allocate memory", "DefaultCPUAllocator", "could not create a primitive", "bad_alloc")
    return isinstance(exc, MemoryError) or (isinstance(exc, RuntimeError) and any(m in text for m in markers))


def _gib(n: float | None) -> str:
    return f"{n / 2**30:.2f} GiB" if n is not None else "unknown"


def _rlimit_cap(free: int | None, total: int | None) -> tuple[int | None, int | None]:
    """(free, total) lowered to what the process's caps still allow: RLIMIT_DATA (a worker's
    memory cap, counted on what it writes) and RLIMIT_AS (address space), where set."""
    import resource

    for limit, field in ((resource.RLIMIT_DATA, "VmData"), (resource.RLIMIT_AS, "VmSize")):
        cap = resource.getrlimit(limit)[0]
        if cap != resource.RLIM_INFINITY:
            left = max(0, cap - status_bytes(field))
            free, total = min(free if free is not None else left, left), min(total or cap, cap)
    return free, total


def memory_free(device: torch.device) -> tuple[int | None, int | None]:
    """(free, total) bytes: the GPU's, or on CPU the lower of MemAvailable and the worker's caps."""
    if device.type == "cuda":
        with contextlib.suppress(Exception):
            return torch.cuda.mem_get_info(device)
        return None, None
    free = total = None
    with contextlib.suppress(OSError, ValueError):
        info = dict(line.split(":", 1) for line in open("/proc/meminfo"))
        free = int(info["MemAvailable"].split()[0]) * 1024
        total = int(info["MemTotal"].split()[0]) * 1024
    with contextlib.suppress(Exception):
        free, total = _rlimit_cap(free, total)
    return free, total


def oom_message(cfg: ProfileConfig, mode: str, device: torch.device, exc: BaseException) -> str:
    text = str(exc)
    match = re.search(r"Tried to allocate ([0-9.]+ [KMGT]?i?B)", text) or re.search(r"allocate (\d+) bytes", text)
    asked = (match.group(1) if "B" in match.group(1) else _gib(int(match.group(1)))) if match else "unknown"
    free, total = memory_free(device)
    return (f"out of memory in {mode} at batch size {cfg.batch_size} ({cfg.dtype}) on {device.type}: "
            f"asked {asked}, {_gib(free)} free of {_gib(total)}; try a smaller batch_size")


def release_memory(device: torch.device) -> None:
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()
    else:
        trim_heap()


def step_budget(device: torch.device, model: torch.nn.Module) -> int:
    """Bytes one step may use now, counted as the memory model counts them (weights included):
    what is free, plus the weights and buffers the model already holds (GPU: all memory torch
    holds once its cache is released)."""
    release_memory(device)
    if device.type == "cuda":
        free, _total = memory_free(device)
        return int(free or 0) + torch.cuda.memory_allocated(device)
    held = sum(t.numel() * t.element_size() for t in (*model.parameters(), *model.buffers()))
    free, _total = memory_free(device)
    return int(free or 0) + held


def largest_batch(fits: Callable[[int], bool], lo: int, hi: int) -> int:
    """Largest b in [lo, hi] with fits(b), assuming fits is monotone; 0 if none: the full search,
    where no prediction is at hand.

    Doubling from lo finds a failing bound quickly, then bisection narrows it: about
    2 * log2(hi / lo) trial steps.
    """
    if hi < 1:
        return 0
    if lo > hi or not fits(max(1, lo)):
        # lo itself does not fit (or lies beyond hi): search below it, never above hi.
        return 0 if lo <= 1 else largest_batch(fits, 1, min(lo - 1, hi))
    good = max(1, lo)
    bad = None
    probe = good
    while bad is None:
        probe = min(hi, probe * 2)
        if probe == good:
            return good
        if fits(probe):
            good = probe
            if probe == hi:
                return good
        else:
            bad = probe
    return _bisect(fits, good, bad)


def _bisect(fits: Callable[[int], bool], good: int, bad: int) -> int:
    """The largest fitting batch between ``good`` (fits) and ``bad`` (does not)."""
    while bad - good > 1:
        mid = (good + bad) // 2
        if fits(mid):
            good = mid
        else:
            bad = mid
    return good


def _above(fits: Callable[[int], bool], good: int, probe: int, limit: int) -> tuple[int, int | None]:
    """From a fitting ``good``: (largest fitting probe, first failing one or None at ``limit``),
    trying ``probe`` (the bracket's top) first, then doubling."""
    while True:
        probe = min(limit, max(probe, good + 1))
        if fits(probe):
            good = probe
            if good == limit:
                return good, None
            probe = good * 2
        else:
            return good, probe


def _below(fits: Callable[[int], bool], bad: int, probe: int) -> tuple[int, int]:
    """From a failing ``bad``: (a fitting batch or 0, the lowest failing one), trying ``probe``
    (the bracket's bottom) first, then halving."""
    while True:
        probe = max(1, min(probe, bad - 1))
        if fits(probe):
            return probe, bad
        bad = probe
        if probe == 1:
            return 0, bad
        probe = probe // 2


def find_max_batch(fits: Callable[[int], bool], predicted: int, bracket: tuple[int, int], limit: int) -> int:
    """Largest b in [1, limit] with fits(b) (fits monotone; 0 if none), from a prediction.

    Starts at the memory model's ``predicted`` largest batch and its neighbour: right when both
    agree (two trial steps). Otherwise it tries the ``bracket`` (fastscale.memory's
    largest_batch_bracket: where the answer lies if the model errs by its stated tolerance) on
    the side the first step points to, doubling or halving past it only if the model erred by
    more, and bisects what is left: about 2 + log2(hi - lo) steps, where the doubling from 1 of
    ``largest_batch`` takes about 2 * log2(answer).
    """
    if limit < 1:
        return 0
    lo, hi = bracket
    start = max(1, min(limit, predicted))
    if fits(start):
        if start == limit or not fits(start + 1):
            return start
        good, bad = _above(fits, start + 1, hi, limit)
    else:
        if start == 1 or fits(start - 1):
            return start - 1
        good, bad = _below(fits, start - 1, lo)
    return good if bad is None or good == 0 else _bisect(fits, good, bad)
