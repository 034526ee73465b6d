"""Worker leases: how the service tells a running job from one whose worker died.

While a job runs, its worker keeps ``Keys.lease(id)`` alive, refreshing it every LEASE_EVERY_S;
the key expires LEASE_TTL_S after the last refresh. A worker that dies (even by SIGKILL) stops
refreshing, and the reaper (service.recovery) hands the job to a new attempt within seconds.
"""

from __future__ import annotations

import logging
import threading

import redis

from service.keys import Keys

LEASE_TTL_S = 10  # silent for this long = lost
LEASE_EVERY_S = 2

log = logging.getLogger("fastscale.worker")


def lease_value(run: int, attempt: int, worker: str) -> str:
    return f"{run}:{attempt}:{worker}"


class Lease:
    """Context manager: refresh the lease from a daemon thread while the body runs, then drop it."""

    def __init__(self, client: redis.Redis, keys: Keys, pid: str, run: int, attempt: int, worker: str):
        self.key = keys.lease(pid)
        self.value = lease_value(run, attempt, worker)
        self.r = client
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._beat, daemon=True, name=f"lease-{pid[:8]}")

    def _beat(self) -> None:
        while not self.stop.is_set():
            try:
                self.r.set(self.key, self.value, ex=LEASE_TTL_S)
            except Exception:  # noqa: BLE001 - Redis blips must not kill the measurement
                log.warning("lease refresh failed", exc_info=True)
            self.stop.wait(LEASE_EVERY_S)

    def __enter__(self) -> "Lease":
        self.r.set(self.key, self.value, ex=LEASE_TTL_S)
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join(timeout=5)
        self.r.delete(self.key)
