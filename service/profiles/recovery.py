"""Abandoned jobs: a worker that dies mid-job (even SIGKILL) stops refreshing its lease; the reaper
notices within seconds and re-queues the job for a fresh worker (bounded attempts), or fails it
with the reason. Runs in every API process; the store's transactions make concurrent reapers
safe: each expiry re-queues a job once, and the old attempt can no longer write a result."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timezone

from service.errors import WorkerLost
from service.profiles.jobs import enqueue_record
from service.redis.leases import LEASE_TTL_S
from service.settings import Settings
from service.profiles.store import ProfileStore

log = logging.getLogger("fastscale.recovery")


def _lease_expired_long_enough(store: ProfileStore, rec: dict, min_age_s: float) -> bool:
    if store.r.exists(store.keys.lease(rec["id"])):
        return False
    started = datetime.fromisoformat(rec["started_at"]) if rec.get("started_at") else None
    return not (started and (datetime.now(timezone.utc) - started).total_seconds() < min_age_s)


def reap(store: ProfileStore, requeue, max_attempts: int, min_age_s: float = LEASE_TTL_S) -> list[tuple[str, str]]:
    """Find started jobs whose worker lease expired; re-queue them (bounded) or fail them.

    ``requeue(record)`` enqueues the job of the record's new attempt.
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
        elif store.requeue(pid, rec["run"], attempt):
            requeue(store.get(pid))
            actions.append((pid, "requeued"))
    return actions


def reap_once(store: ProfileStore, settings: Settings) -> list:
    actions = reap(store, lambda rec: enqueue_record(store.r, settings, rec), settings.max_attempts)
    for pid, action in actions:
        log.warning("abandoned job %s", action, extra={"profile_id": pid})
    return actions


async def reaper_loop(store: ProfileStore, settings: Settings) -> None:
    while True:
        try:
            await asyncio.to_thread(reap_once, store, settings)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - Redis down: try again next round
            log.debug("reaper round failed: %s", exc)
        await asyncio.sleep(settings.reap_interval_s)
