"""Worker leases: how the service tells a running job from one whose worker died.

While a job runs, its worker keeps ``Keys.lease(id)`` alive, refreshing it every LEASE_EVERY_S;
the key expires LEASE_TTL_S after the last refresh. A worker that dies (even by SIGKILL) stops
refreshing, and the reaper (service.profiles.recovery) hands the job to a new attempt within seconds.

A worker that was only paused (SIGSTOP, a VM freeze, a GC storm) comes back to find its job
handed on. Every write it makes about the job is therefore conditional on the lease still holding
its own ``run:attempt:worker`` value, checked and written in one Lua script: refreshing, reporting
progress and dropping the lease. The first write that finds another attempt's value marks the
lease lost, and the job stops at its next progress report (``Superseded``) instead of overwriting
the live attempt's lease and progress, or deleting its lease under it.
"""

from __future__ import annotations

import logging
import threading

import redis

from service.redis.keys import Keys

LEASE_TTL_S = 10  # silent for this long = lost
LEASE_EVERY_S = 2

log = logging.getLogger("fastscale.worker")

# KEYS[1] lease; ARGV[1] our value; ARGV[2] ttl. 1 if refreshed, 0 if the lease is another's.
REFRESH = "if redis.call('get', KEYS[1]) == ARGV[1] then redis.call('set', KEYS[1], ARGV[1], 'ex', ARGV[2]) " \
          "return 1 end return 0"
# KEYS[1] lease, KEYS[2] progress; ARGV[1] our value, ARGV[2] progress JSON, ARGV[3] its ttl,
# ARGV[4] the profile's events channel, ARGV[5] the event (a running job's progress, for /events).
REPORT = "if redis.call('get', KEYS[1]) == ARGV[1] then redis.call('set', KEYS[2], ARGV[2], 'ex', ARGV[3]) " \
         "redis.call('publish', ARGV[4], ARGV[5]) return 1 end return 0"
# KEYS[1] lease; ARGV[1] our value.
RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


class Superseded(Exception):
    """This attempt's lease was taken over by a newer attempt: stop, and write nothing more."""


def lease_value(run: int, attempt: int, worker: str) -> str:
    return f"{run}:{attempt}:{worker}"


class Lease:
    """Context manager: refresh the lease from a daemon thread while the body runs, then drop it
    (each only while the lease is still this attempt's)."""

    def __init__(self, client: redis.Redis, keys: Keys, pid: str, run: int, attempt: int, worker: str):
        self.key, self.progress_key = keys.lease(pid), keys.progress(pid)
        self.events = keys.events("profile", pid)  # live /events listeners get each report
        self.value = lease_value(run, attempt, worker)
        self.r = client
        self.lost = threading.Event()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._beat, daemon=True, name=f"lease-{pid[:8]}")
        self._refresh, self._report, self._release = (client.register_script(s) for s in (REFRESH, REPORT, RELEASE))

    def _beat(self) -> None:
        while not self.stop.is_set() and not self.lost.is_set():
            try:
                if not self._refresh(keys=[self.key], args=[self.value, LEASE_TTL_S]):
                    self.lost.set()
                    log.warning("lease %s is held by another attempt now; this attempt stops", self.key)
            except Exception:  # noqa: BLE001 - Redis blips must not kill the measurement
                log.warning("lease refresh failed", exc_info=True)
            self.stop.wait(LEASE_EVERY_S)

    def report(self, progress_json: str, ttl_s: int = 3600) -> None:
        """Write the job's progress if the lease is still ours; else raise Superseded."""
        event = '{"status": "started", "progress": %s}' % progress_json
        if self.lost.is_set() or not self._report(keys=[self.key, self.progress_key],
                                                  args=[self.value, progress_json, ttl_s, self.events, event]):
            self.lost.set()
            raise Superseded(f"{self.key} is held by another attempt")

    def __enter__(self) -> "Lease":
        if not self._refresh(keys=[self.key], args=[self.value, LEASE_TTL_S]):  # store.start took it
            self.lost.set()
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join(timeout=5)
        try:
            self._release(keys=[self.key], args=[self.value])
        except redis.RedisError:
            log.warning("lease release failed; it expires in %s s", LEASE_TTL_S)
