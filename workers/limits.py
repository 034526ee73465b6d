"""A worker's cap on host memory: what one job may add to a warmed-up worker process.

The cap is on memory the process actually writes (RLIMIT_DATA: heap and private writable
mappings), not on address space: CUDA reserves terabytes of address space it never touches, so
an address-space cap (RLIMIT_AS) could not be applied to CUDA workers at all, and those are
where a model the predictor misjudges (262,152 blocks of width 1: predicted 26 MB, grew to
3.5 GB) can take a host down. The limit is set after the warm-up, at what the process holds then
plus the cap, so torch's and CUDA's own start-up mappings do not eat into the job's share; a job
past it fails as out-of-memory inside the process, which survives it. Where the worker may
create a cgroup v2 child group, the group's memory.max is set too (a little above, as a hard
backstop that also counts page cache): the kernel then kills the worker rather than the host.
"""

from __future__ import annotations

import contextlib
import logging
import os
import resource
from pathlib import Path

log = logging.getLogger("fastscale.worker")

HOST_SHARE = 0.8  # of the host's (or container's) memory, split among a supervisor's workers
CGROUP_ROOT = Path("/sys/fs/cgroup")


def host_memory_bytes() -> int:
    """The machine's memory, or the container's limit if lower (cgroup v2 or v1)."""
    with open("/proc/meminfo") as fh:
        total = next(int(line.split()[1]) * 1024 for line in fh if line.startswith("MemTotal"))
    for limit_file in (CGROUP_ROOT / "memory.max", CGROUP_ROOT / "memory" / "memory.limit_in_bytes"):
        with contextlib.suppress(OSError, ValueError):
            total = min(total, int(limit_file.read_text().split()[0]))
    return total


def default_cap(workers: int) -> int:
    return int(host_memory_bytes() * HOST_SHARE / max(1, workers))


def status_bytes(field: str) -> int:
    """A size line of /proc/self/status (``VmData``, ``VmSize``, ...) in bytes."""
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) * 1024 for line in fh if line.startswith(field))


def data_bytes() -> int:
    """What RLIMIT_DATA counts for this process now (VmData)."""
    return status_bytes("VmData")


def own_cgroup(root: Path = CGROUP_ROOT) -> Path | None:
    """This process's cgroup v2 directory, if there is a unified hierarchy."""
    with contextlib.suppress(OSError, StopIteration):
        line = next(line for line in Path("/proc/self/cgroup").read_text().splitlines() if line.startswith("0::"))
        path = root / line[3:].lstrip("/")
        if (path / "cgroup.procs").exists() and (root / "cgroup.controllers").exists():
            return path
    return None


def cgroup_cap(limit_bytes: int, parent: Path | None) -> Path | None:
    """Move this process into a child group of ``parent`` with memory.max = ``limit_bytes``; the
    group, or None where cgroups are not writable (most containers) or lack the memory controller."""
    if parent is None:
        return None
    group = parent / f"fastscale-worker-{os.getpid()}"
    try:
        if "memory" not in (parent / "cgroup.subtree_control").read_text().split():
            (parent / "cgroup.subtree_control").write_text("+memory")
        group.mkdir(exist_ok=True)
        (group / "memory.max").write_text(str(limit_bytes))
        (group / "cgroup.procs").write_text(str(os.getpid()))
        return group
    except OSError as exc:
        log.info("no cgroup memory cap (%s); RLIMIT_DATA only", exc)
        with contextlib.suppress(OSError):
            group.rmdir()
        return None


M_MMAP_THRESHOLD = -3  # glibc mallopt parameter
MMAP_THRESHOLD_BYTES = 128 * 1024


def _libc():
    import ctypes

    return ctypes.CDLL("libc.so.6")


def return_freed_memory_to_the_system(threshold: int = MMAP_THRESHOLD_BYTES) -> bool:
    """Make glibc give large freed blocks back to the kernel at once (True if it agreed).

    By default glibc raises its mmap threshold each time a large mmapped block is freed, so after
    one big step (an out-of-memory trial of find_max_batch) later tensors come from the heap, and
    a heap's freed pages still count against RLIMIT_DATA: every later trial, batch 1 included,
    then failed under the cap. A fixed threshold keeps tensors in their own mappings, which
    free() unmaps.
    """
    with contextlib.suppress(OSError, AttributeError):
        return bool(_libc().mallopt(M_MMAP_THRESHOLD, threshold))
    return False


def trim_heap() -> None:
    """Give the heap's free top back to the kernel (glibc), after a failed step released its tensors."""
    with contextlib.suppress(OSError, AttributeError):
        _libc().malloc_trim(0)


def cap_memory(limit_bytes: int) -> dict:
    """Cap what this (warmed-up) process may still add to ``limit_bytes``; what was applied."""
    return_freed_memory_to_the_system()
    baseline = data_bytes()
    _soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    data_limit = baseline + limit_bytes
    if hard != resource.RLIM_INFINITY:
        data_limit = min(data_limit, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (data_limit, hard))
    group = cgroup_cap(int(data_limit * 1.1), own_cgroup())
    applied = {"rlimit_data": data_limit, "baseline": baseline, "cgroup": str(group) if group else None}
    log.info("worker memory capped: a job may add %.2f GiB (RLIMIT_DATA %.2f GiB%s)", limit_bytes / 2**30,
             data_limit / 2**30, f", cgroup {group}" if group else "")
    return applied
