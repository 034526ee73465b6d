"""Profile records in Redis: the job status, the cached result, and their atomic transitions.

One JSON document per profile id (``Keys.profile``), always written whole (one SET inside a
WATCH/MULTI transaction), so a reader sees the record before or after a transition, never half of
one. A ``run`` number counts measurements of the id: a worker may only write the run it was given,
so a late or duplicate worker can never overwrite a newer result or write one twice. Progress (the
phase while running) lives in its own short-lived key so the worker can update it often without
rewriting the record. Finished measurements also become runtime points (service.prediction.points) in the
same transaction; abandoned jobs are found by service.profiles.recovery.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

import redis

from service.faults import point
from service.redis.keys import Keys
from service.redis.leases import LEASE_TTL_S, lease_value
from service.prediction.points import RuntimePoints
from service.profiles.transitions import on_profile_transition, publish_progress

IN_FLIGHT = ("queued", "started")
DONE = ("finished", "failed", "cancelled")


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class ProfileStore:
    def __init__(self, client: redis.Redis, prefix: str = "fastscale", result_ttl: int = 604800, failure_ttl: int = 86400):
        self.r = client
        self.prefix = prefix
        self.keys = Keys(prefix)
        self.points = RuntimePoints(client, self.keys)
        self.result_ttl = result_ttl
        self.failure_ttl = failure_ttl

    # ------------------------------------------------------------------ reads
    def get(self, pid: str) -> dict | None:
        raw, progress = self.r.mget(self.keys.profile(pid), self.keys.progress(pid))
        if raw is None:
            return None
        record = json.loads(raw)
        if record["status"] == "started" and progress is not None:
            record["progress"] = json.loads(progress)
        return record

    # ------------------------------------------------------------------ API transitions
    def claim(self, pid: str, base: dict, force: bool, also=None) -> tuple[dict, bool]:
        """Create the record as queued, or re-queue a done one when ``force``.

        Returns (record, enqueue?). Concurrent identical requests race on one key; exactly one
        of them gets ``enqueue=True``, the others see the in-flight record (dedupe). ``also(pipe,
        record)`` adds writes to the same MULTI when the record is (re)created: /scale queues the
        RQ job there, so a record is never queued without its job (nor a job without its record).
        What is returned is what the committed pass decided: each WATCH pass starts afresh.
        """
        key = self.keys.profile(pid)
        outcome: dict = {}

        def tx(pipe: redis.client.Pipeline) -> None:
            outcome.clear()
            raw = pipe.get(key)
            current = json.loads(raw) if raw else None
            point("store.claim.read")
            if current is not None and (current["status"] in IN_FLIGHT or (current["status"] == "finished" and not force)):
                outcome.update(record=current, enqueue=False)
                pipe.multi()
                return
            record = _queued_record(pid, base, current)
            pipe.multi()
            pipe.set(key, json.dumps(record))
            if also is not None:
                also(pipe, record)
            pipe.publish(self.keys.changed, pid)
            on_profile_transition(pipe, self.keys, pid, current, record, None)
            outcome.update(record=record, enqueue=True)

        self.r.transaction(tx, key)
        return outcome["record"], outcome["enqueue"]

    def forget(self, pid: str, run: int) -> None:
        """Undo a claim whose enqueue failed, so the request can be retried cleanly."""
        self.update(pid, run, lambda rec: None)

    # ------------------------------------------------------------------ worker transitions
    def start(self, pid: str, run: int, worker: str, attempt: int = 1) -> bool:
        def change(rec):
            if rec["status"] != "queued" or rec.get("attempt", 1) != attempt:
                return False
            rec.update(status="started", started_at=now_iso(), worker=worker)
            return rec

        # The lease is taken in the same transaction, so the reaper never sees a started job
        # without one.
        return self.update(pid, run, change, also=lambda pipe, _rec: (
            pipe.sadd(self.keys.started, pid),
            pipe.set(self.keys.lease(pid), lease_value(run, attempt, worker), ex=LEASE_TTL_S)))

    def progress(self, pid: str, phase: str, **details) -> None:
        progress = {"phase": phase, "at": now_iso(), **details}
        pipe = self.r.pipeline(transaction=False)
        pipe.set(self.keys.progress(pid), json.dumps(progress), ex=3600)
        publish_progress(pipe, self.keys, pid, progress)
        pipe.execute()

    def finish(self, pid: str, run: int, result: dict, attempt: int = 1) -> bool:
        def change(rec):
            if rec["status"] != "started" or rec.get("attempt", 1) != attempt:
                return False
            rec.update(status="finished", finished_at=now_iso(), result=result, error=None)
            rec.pop("previous_result", None)
            return rec

        def also(pipe, rec):
            self.points.add(pipe, rec)
            self._count_outcome(pipe, rec)

        return self.update(pid, run, change, ttl=self.result_ttl, also=also)

    def fail(self, pid: str, run: int, error_type: str, message: str, attempt: int | None = None) -> bool:
        def change(rec):
            if rec["status"] in DONE or (attempt is not None and rec.get("attempt", 1) != attempt):
                return False
            rec.update(status="failed", finished_at=now_iso(), error={"type": error_type, "message": message})
            return rec

        return self.update(pid, run, change, ttl=self.failure_ttl, also=self._count_outcome)

    def requeue(self, pid: str, run: int, attempt: int, enqueue=None, from_status: str = "started") -> bool:
        """Hand a job whose worker was lost to a new attempt: a started one whose lease expired (the
        reaper), or a queued one whose RQ job is gone (the reconciler). ``enqueue(pipe, record)``
        queues the new attempt's job in the same MULTI, so the record is never queued without it."""
        def change(rec):
            if rec["status"] != from_status or rec.get("attempt", 1) != attempt:
                return False
            lost = rec.get("lost_workers", []) + ([rec.get("worker")] if from_status == "started" else [])
            rec.update(status="queued", attempt=attempt + 1, enqueued_at=now_iso(), started_at=None, lost_workers=lost)
            return rec

        def also(pipe, rec):
            pipe.srem(self.keys.started, pid)
            pipe.delete(self.keys.lease(pid))
            if enqueue is not None:
                enqueue(pipe, rec)

        return self.update(pid, run, change, also=also, at="store.requeue.read")

    def update(self, pid: str, run: int, change, ttl: int | None = None, also=None, at: str = "store.update.read") -> bool:
        """Apply ``change`` to the record of ``run`` atomically; False if it is not that run's.

        ``change(record)`` returns the new record, None to delete it, or False to leave it;
        ``also(pipe, new)`` adds writes to the same transaction. Every applied change is
        published on ``Keys.changed``. The answer is what the committed pass did: when EXEC
        aborts (another client wrote the record after our read) ``change`` runs again on the new
        record and only that pass counts, so a retry that changes nothing returns False.
        """
        key = self.keys.profile(pid)
        applied = []

        def tx(pipe: redis.client.Pipeline) -> None:
            applied.clear()
            raw = pipe.get(key)
            rec = json.loads(raw) if raw else None
            point(at)
            if rec is None or rec.get("run") != run:
                pipe.multi()
                return
            old = dict(rec)
            new = change(rec)
            pipe.multi()
            if new is None:
                pipe.delete(key)
            elif new is not False:
                pipe.set(key, json.dumps(new), ex=ttl)
                if new["status"] in DONE:
                    pipe.delete(self.keys.progress(pid), self.keys.lease(pid))
                    pipe.srem(self.keys.started, pid)
            if new is not False:
                if also is not None:
                    also(pipe, new)
                pipe.publish(self.keys.changed, pid)
                on_profile_transition(pipe, self.keys, pid, old, new, ttl)
                applied.append(True)

        self.r.transaction(tx, key)
        return bool(applied)

    # ------------------------------------------------------------------ stats
    def count(self, field: str, n: int = 1) -> None:
        self.r.hincrby(self.keys.stats, field, n)

    def stats(self) -> dict[str, float]:
        return {k.decode(): float(v) for k, v in self.r.hgetall(self.keys.stats).items()}

    def _count_outcome(self, pipe, rec: dict) -> None:
        """Outcome counts and total job seconds (the jobs metrics), in the MULTI of the final state:
        a counter can never disagree with the records it counts."""
        outcome = rec["status"]
        pipe.hincrby(self.keys.stats, f"jobs_{outcome}", 1)
        if rec.get("started_at") and rec.get("finished_at"):
            seconds = (datetime.fromisoformat(rec["finished_at"]) - datetime.fromisoformat(rec["started_at"])).total_seconds()
            pipe.hincrbyfloat(self.keys.stats, f"seconds_{outcome}", seconds)


def _queued_record(pid: str, base: dict, current: dict | None) -> dict:
    """A fresh queued record for a new run of ``pid`` (the previous result kept until replaced)."""
    record = {
        **base,
        "id": pid,
        "status": "queued",
        "run": (current["run"] + 1) if current else 1,
        "attempt": 1,
        "created_at": current["created_at"] if current else now_iso(),
        "enqueued_at": now_iso(),
        "started_at": None,
        "finished_at": None,
        "result": None,
        "error": None,
        "links": {"self": f"/profile/{pid}", "config": f"/profile/{pid}/config.yaml"},
    }
    if current is not None and current.get("result"):
        record["previous_result"] = current["result"]
    return record
