"""Cancelling a profile (DELETE /profile/{id}): a queued job leaves its queue at once; a running one
is asked to stop and does so at its next iteration check. Either way the record ends ``cancelled``,
a final state like finished and failed (its callback event is ``profile.cancelled``).

The ask is a key (``Keys.cancel("profile", id)``) holding the run to stop. The worker's progress
callback, which the profiler calls after every timing chunk, calls ``raise_if_cancelled``; the
``JobCancelled`` it raises unwinds the measurement, and the job writes the final state with
``finish_cancelled``. Holding the run number means a later run (a re-measurement) never reads an
old request as its own.
"""

from __future__ import annotations

from service.errors import AlreadyDone, NotFound
from service.redis.queues import get_queue
from service.profiles.store import DONE, ProfileStore, now_iso


class JobCancelled(Exception):
    """Raised from a job's progress callback when its record was asked to stop."""


def _cancelled(rec: dict, how: str) -> dict:
    rec.update(status="cancelled", finished_at=now_iso(),
               error={"type": "Cancelled", "message": f"cancelled by DELETE /profile/{rec['id']} {how}"})
    return rec


def cancel_profile(c, pid: str) -> tuple[dict, bool]:
    """(record, cancelled now?): a queued job is cancelled at once, a running one asked to stop."""
    rec = c.store.get(pid)
    if rec is None:
        raise NotFound(f"no profile {pid}: unknown, or expired from the cache")
    if rec["status"] in DONE:
        raise AlreadyDone(f"profile {pid} is already {rec['status']}; there is nothing to cancel")
    if rec["status"] == "queued":
        run, attempt = rec["run"], rec.get("attempt", 1)

        def change(r):
            return _cancelled(r, "while queued") if r["status"] == "queued" and r.get("attempt", 1) == attempt else False

        if c.store.update(pid, run, change, ttl=c.settings.failure_ttl_s):
            get_queue(c.redis, c.settings.key_prefix, rec["device_class"]).remove(f"{pid}-r{run}-a{attempt}")
            return c.store.get(pid), True
        rec = c.store.get(pid)  # it started (or ended) meanwhile
        if rec is None or rec["status"] in DONE:
            raise AlreadyDone(f"profile {pid} ended before it could be cancelled")
    c.redis.set(c.keys.cancel("profile", pid), rec["run"], ex=c.settings.job_timeout_s + 60)
    return {**rec, "cancel_requested": True}, False


def raise_if_cancelled(store: ProfileStore, pid: str, run: int) -> None:
    """The worker's iteration check: JobCancelled if this run of ``pid`` was asked to stop."""
    asked = store.r.get(store.keys.cancel("profile", pid))
    if asked is not None and int(asked) == run:
        raise JobCancelled(f"profile {pid} run {run} was cancelled")


def finish_cancelled(store: ProfileStore, pid: str, run: int, attempt: int, failure_ttl: int) -> bool:
    """The job's final write after JobCancelled: started -> cancelled (this attempt only)."""
    def change(rec):
        if rec["status"] != "started" or rec.get("attempt", 1) != attempt:
            return False
        return _cancelled(rec, "while running")

    return store.update(pid, run, change, ttl=failure_ttl,
                        also=lambda pipe, _rec: pipe.delete(store.keys.cancel("profile", pid)))
