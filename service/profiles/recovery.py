"""Abandoned jobs: a worker that dies mid-job (even SIGKILL) stops refreshing its lease; the reaper
notices within seconds and re-queues the job for a fresh worker (bounded attempts), or fails it
with the reason. Runs in every API process; the store's transactions make concurrent reapers
safe: each expiry re-queues a job once, and the old attempt can no longer write a result. The
re-queue and the new attempt's enqueue are one transaction (a Redis death between them leaves the
record started, and the next round tries again), and the job goes to the front of its queue. The
same loop runs the reconciler (service.profiles.reconcile) for queued records without a job."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime, timezone

from service.errors import WorkerLost
from service.profiles.jobs import enqueue_record
from service.profiles.reconcile import Reconciler
from service.redis.leases import LEASE_TTL_S
from service.settings import Settings
from service.profiles.store import ProfileStore

log = logging.getLogger("fastscale.recovery")


def _lease_expired_long_enough(store: ProfileStore, rec: dict, min_age_s: float) -> bool:
    if store.r.exists(store.keys.lease(rec["id"])):
        return False
    started = datetime.fromisoformat(rec["started_at"]) if rec.get("started_at") else None
    return not (started and (datetime.now(timezone.utc) - started).total_seconds() < min_age_s)


def reap(store: ProfileStore, enqueue, max_attempts: int, min_age_s: float = LEASE_TTL_S) -> list[tuple[str, str]]:
    """Find started jobs whose worker lease expired; re-queue them (bounded) or fail them.

    ``enqueue(pipe, record)`` queues the job of the record's new attempt inside the re-queue's MULTI.
    """
    actions = []
    for raw_pid in store.r.smembers(store.keys.started):
        pid = raw_pid.decode()
        rec = store.get(pid)
        if rec is None or rec["status"] != "started":
            store.r.srem(store.keys.started, pid)
            continue
        if not _lease_expired_long_enough(store, rec, min_age_s):
            continue
        attempt = rec.get("attempt", 1)
        if attempt >= max_attempts:
            msg = (f"the worker running this job was lost {attempt} time(s) (its lease expired); "
                   f"giving up after {max_attempts} attempts")
            if store.fail(pid, rec["run"], WorkerLost.code, msg, attempt=attempt):
                actions.append((pid, "failed"))
        elif store.requeue(pid, rec["run"], attempt, enqueue=enqueue):
            actions.append((pid, "requeued"))
    return actions


def reap_once(store: ProfileStore, settings: Settings) -> list:
    def enqueue(pipe, rec):
        enqueue_record(store.r, settings, rec, pipeline=pipe, at_front=True)

    actions = reap(store, enqueue, settings.max_attempts)
    for pid, action in actions:
        log.warning("abandoned job %s", action, extra={"profile_id": pid})
    return actions


def reconcile_once(reconciler: Reconciler) -> list:
    actions = reconciler.run_once()
    for pid, action in actions:
        log.warning("orphaned queued job %s", action, extra={"profile_id": pid})
    return actions


async def reaper_loop(store: ProfileStore, settings: Settings) -> None:
    """Reap every FASTSCALE_REAP_INTERVAL_S, reconcile every FASTSCALE_RECONCILE_INTERVAL_S."""
    reconciler, last = Reconciler(store, settings), 0.0
    while True:
        try:
            await asyncio.to_thread(reap_once, store, settings)
            if time.monotonic() - last >= settings.reconcile_interval_s:
                last = time.monotonic()
                await asyncio.to_thread(reconcile_once, reconciler)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - Redis down: try again next round
            log.debug("reaper round failed: %s", exc)
        await asyncio.sleep(min(settings.reap_interval_s, settings.reconcile_interval_s))
