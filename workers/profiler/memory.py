"""Out-of-memory handling: recognising it on GPU and CPU, saying what was asked and free, releasing
what a failed step held, and bisecting for the largest batch that fits."""

from __future__ import annotations

import contextlib
import gc
import re
from typing import Callable

import torch

from workers.profiler.config import ProfileConfig


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


def _address_space_cap(free: int | None, total: int | None) -> tuple[int | None, int | None]:
    """(free, total) lowered to what RLIMIT_AS (a CPU worker's memory cap) still allows."""
    import resource

    cap = resource.getrlimit(resource.RLIMIT_AS)[0]
    if cap == resource.RLIM_INFINITY:
        return free, total
    with open("/proc/self/status") as fh:
        used = next(int(line.split()[1]) * 1024 for line in fh if line.startswith("VmSize"))
    return min(free or cap, max(0, cap - used)), min(total or cap, cap)


def memory_free(device: torch.device) -> tuple[int | None, int | None]:
    """(free, total) bytes: the GPU's, or on CPU the lower of MemAvailable and the address-space cap."""
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
        free, total = _address_space_cap(free, total)
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


def largest_batch(fits: Callable[[int], bool], lo: int, hi: int) -> int:
    """Largest b in [lo, hi] with fits(b), assuming fits is monotone; 0 if none.

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
    while bad - good > 1:
        mid = (good + bad) // 2
        if fits(mid):
            good = mid
        else:
            bad = mid
    return good
