"""The reconciler: every queued record has an RQ job in its queue, or it is repaired.

The invariant (README, "No accepted job is stranded"): a record in ``queued`` has its attempt's
job in its device class's RQ queue, and one in ``started`` has a worker lease (the reaper,
service.profiles.recovery, handles those). Claim and enqueue are one transaction, and so are the
reaper's re-queue and its enqueue, so the design leaves a queued record without its job only when a
worker took the job and died before it marked the record started (the job then sits in RQ's
intermediate queue, or RQ's own clean-up moved it to its failed registry), or when something outside
the service removed it. This pass finds those: a queued record whose job id is in no queue list at
two passes ``FASTSCALE_RECONCILE_INTERVAL_S`` apart (a live worker marks the record started within
milliseconds of taking the job, so the wait only spares a job being picked up) gets a new attempt at
the front of its queue, or fails as WorkerLost after FASTSCALE_MAX_ATTEMPTS with what RQ recorded.
The old attempt, should its worker wake up, can no longer start (the store checks the attempt).
Every API process runs it; the store's transactions make concurrent passes safe.
"""

from __future__ import annotations

import json
import logging
import time

from rq.job import Job
from rq.registry import FailedJobRegistry

from service.errors import WorkerLost
from service.profiles.jobs import enqueue_record, job_id
from service.profiles.store import ProfileStore
from service.redis.queues import get_queue
from service.settings import Settings

log = logging.getLogger("fastscale.recovery")


def queued_records(store: ProfileStore) -> list[dict]:
    """Every record in ``queued`` (from the listing's status index), read in one MGET."""
    pids = [p.decode() for p in store.r.zrange(store.keys.index("profile", "status", "queued"), 0, -1)]
    raws = store.r.mget([store.keys.profile(p) for p in pids]) if pids else []
    return [rec for rec in (json.loads(raw) for raw in raws if raw) if rec["status"] == "queued"]


def jobless(store: ProfileStore, settings: Settings, records: list[dict]) -> list[dict]:
    """The records whose current attempt's job is in no queue list (now)."""
    waiting: dict[str, set[str]] = {}
    out = []
    for rec in records:
        cls = rec["device_class"]
        if cls not in waiting:
            key = get_queue(store.r, settings.key_prefix, cls).key
            waiting[cls] = {j.decode() for j in store.r.lrange(key, 0, -1)}
        if job_id(rec) not in waiting[cls]:
            out.append(rec)
    return out


def rq_reason(store: ProfileStore, settings: Settings, rec: dict) -> str:
    """What RQ knows of the lost job: its failed registry's reason, else where it was left."""
    jid, queue = job_id(rec), get_queue(store.r, settings.key_prefix, rec["device_class"])
    if jid in FailedJobRegistry(queue=queue).get_job_ids():
        job = Job.fetch(jid, connection=store.r, serializer=queue.serializer)
        result = job.latest_result()
        lines = ((result.exc_string if result is not None else None) or "failed").strip().splitlines()
        return f"RQ failed its job: {lines[-1] if lines else 'failed'}"
    if store.r.lpos(queue.intermediate_queue_key, jid) is not None:
        return "its worker took the job and was lost before starting it"
    return "its job was no longer queued"


class Reconciler:
    """Remembers which queued records were jobless at the last pass; repairs those still so."""

    def __init__(self, store: ProfileStore, settings: Settings):
        self.store, self.settings = store, settings
        self.suspects: dict[tuple[str, int, int], float] = {}

    def run_once(self, now: float | None = None) -> list[tuple[str, str]]:
        now = time.monotonic() if now is None else now
        missing = {(r["id"], r["run"], r.get("attempt", 1)): r for r in jobless(self.store, self.settings,
                                                                                 queued_records(self.store))}
        self.suspects = {k: self.suspects.get(k, now) for k in missing}
        due = [missing[k] for k, since in self.suspects.items() if now - since >= self.settings.reconcile_interval_s]
        return [action for rec in due if (action := self.repair(rec))]

    def repair(self, rec: dict) -> tuple[str, str] | None:
        pid, run, attempt = rec["id"], rec["run"], rec.get("attempt", 1)
        reason = rq_reason(self.store, self.settings, rec)
        self.suspects.pop((pid, run, attempt), None)
        if attempt >= self.settings.max_attempts:
            msg = f"attempt {attempt} of this job was lost ({reason}); giving up after {self.settings.max_attempts} attempts"
            return (pid, "failed") if self.store.fail(pid, run, WorkerLost.code, msg, attempt=attempt) else None
        enqueue = lambda pipe, new: enqueue_record(self.store.r, self.settings, new, pipeline=pipe, at_front=True)  # noqa: E731
        if self.store.requeue(pid, run, attempt, enqueue=enqueue, from_status="queued"):
            log.warning("orphaned queued job re-queued: %s", reason, extra={"profile_id": pid})
            return pid, "requeued"
        return None
