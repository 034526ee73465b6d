"""Worker health for container checks: each worker process keeps a heartbeat file saying until
when it promises its next sign of life, and ``fastscale worker --check`` reads them.

RQ's own heartbeat lives in Redis, where a container health check cannot see its own processes
apart from others; the files are local to the container. A worker writes its file on every RQ
heartbeat with the deadline RQ itself uses (idle: the worker TTL; running a job: the job's
timeout), so a long job is healthy and a hung or dead worker goes stale. One file per supervisor
slot (``FASTSCALE_WORKER_SLOT``): a restarted worker overwrites its predecessor's.
"""

from __future__ import annotations

import os
import time
from pathlib import Path


def write_beat(directory: Path, slot: str, until: float) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / f".{slot}.{os.getpid()}"
    tmp.write_text(f"{until:.0f} {os.getpid()}\n")
    tmp.replace(directory / slot)  # atomic: a reader never sees half a file


def check(directory: Path, now: float | None = None) -> tuple[bool, list[str]]:
    """(healthy, one line per slot): healthy if there is a slot and every slot's deadline is ahead."""
    now = time.time() if now is None else now
    slots = sorted(p for p in directory.glob("*") if not p.name.startswith(".")) if directory.is_dir() else []
    lines, healthy = [], bool(slots)
    for path in slots:
        try:
            until, pid = path.read_text().split()
            late = now - float(until)
        except (OSError, ValueError):
            late, pid = float("inf"), "?"
        healthy &= late <= 0
        lines.append(f"{path.name}: pid {pid}, " + ("ok" if late <= 0 else f"silent {late:.0f} s past its deadline"))
    return healthy, lines or [f"no worker has started in {directory}"]
