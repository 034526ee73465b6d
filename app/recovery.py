"""Abandoned jobs: a worker that dies mid-job (even SIGKILL) stops refreshing its lease; the reaper
notices within seconds and re-queues the job for a fresh worker (bounded attempts), or fails it
with the reason. Runs in every API process; the store makes concurrent reapers safe."""

from __future__ import annotations

import asyncio
import logging

from app.queues import enqueue_profile
from app.settings import Settings
from app.store import ProfileStore

log = logging.getLogger("fastscale.recovery")


def requeue_from_record(store: ProfileStore, settings: Settings, record: dict) -> None:
    job = {"id": record["id"], "run": record["run"], "attempt": record["attempt"], "plan": record["plan"],
           "profile": record["profile"], "device_class": record["device_class"],
           "request_id": record.get("request_id")}
    enqueue_profile(store.r, settings.key_prefix, job, timeout=settings.job_timeout_s,
                    result_ttl=settings.rq_result_ttl_s, failure_ttl=settings.failure_ttl_s)


def reap_once(store: ProfileStore, settings: Settings) -> list:
    actions = store.reap(lambda rec: requeue_from_record(store, settings, rec), settings.max_attempts)
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
