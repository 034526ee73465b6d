"""How much longer a wall-clock wait in a test may take on a loaded machine.

The suite runs on 2-core CI boxes beside other work (and `make test` under `stress-ng --cpu 4`
in review): a worker that exits in 20 s alone took over 60 s there. Every wait on a process, a
worker or a status goes through ``scaled``: the given seconds times the load factor, which is
``FASTSCALE_TEST_LOAD_FACTOR`` when set, else the run-queue length per core (the 1-minute load
average over the CPU count), at least 1 and at most 6. Waits only ever end early on success, so
a larger factor costs time only when something is really stuck.
"""

from __future__ import annotations

import os

MAX_FACTOR = 6.0


def factor() -> float:
    given = os.environ.get("FASTSCALE_TEST_LOAD_FACTOR")
    if given:
        return max(1.0, float(given))
    try:
        per_core = os.getloadavg()[0] / (os.cpu_count() or 1)
    except OSError:  # no load average on this platform
        return 1.0
    return min(MAX_FACTOR, max(1.0, per_core))


def scaled(seconds: float) -> float:
    """``seconds`` for an idle machine, stretched by the current load factor."""
    return seconds * factor()
