"""Profile records in Redis: the job status, the cached result, and their atomic transitions.

One JSON document per profile id at ``<prefix>:profile:<id>``, always written whole (one SET
inside a WATCH/MULTI transaction), so a reader sees the record before or after a transition,
never half of one. A ``run`` number counts measurements of the id: a worker may only write the
run it was given, so a late or duplicate worker can never overwrite a newer result or write one
twice. Progress (the phase while running) lives in its own short-lived key so the worker can
update it often without rewriting the record.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

import redis

IN_FLIGHT = ("queued", "started")
LEASE_TTL_S = 10  # a running job's worker refreshes its lease every 2 s; silent for this long = lost
DONE = ("finished", "failed")


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class ProfileStore:
    def __init__(self, client: redis.Redis, prefix: str = "fastscale", result_ttl: int = 604800, failure_ttl: int = 86400):
        self.r = client
        self.prefix = prefix
        self.result_ttl = result_ttl
        self.failure_ttl = failure_ttl

    # ------------------------------------------------------------------ keys
    def key(self, pid: str) -> str:
        return f"{self.prefix}:profile:{pid}"

    def progress_key(self, pid: str) -> str:
        return f"{self.prefix}:progress:{pid}"

    @property
    def started_key(self) -> str:
        """Ids whose job is running: the reaper checks their leases."""
        return f"{self.prefix}:started"

    def lease_key(self, pid: str) -> str:
        return f"{self.prefix}:lease:{pid}"

    @property
    def changed_channel(self) -> str:
        """Published with the id on every record transition (the API's record cache listens)."""
        return f"{self.prefix}:changed"

    @property
    def stats_key(self) -> str:
        return f"{self.prefix}:stats"

    # ------------------------------------------------------------------ reads
    def get(self, pid: str) -> dict | None:
        raw, progress = self.r.mget(self.key(pid), self.progress_key(pid))
        if raw is None:
            return None
        record = json.loads(raw)
        if record["status"] == "started" and progress is not None:
            record["progress"] = json.loads(progress)
        return record

    # ------------------------------------------------------------------ API transitions
    def claim(self, pid: str, base: dict, force: bool) -> tuple[dict, bool]:
        """Create the record as queued, or re-queue a done one when ``force``.

        Returns (record, enqueue?). Concurrent identical requests race on one key; exactly one
        of them gets ``enqueue=True``, the others see the in-flight record (dedupe).
        """
        key = self.key(pid)
        outcome: dict = {}

        def tx(pipe: redis.client.Pipeline) -> None:
            raw = pipe.get(key)
            current = json.loads(raw) if raw else None
            if current is not None and (current["status"] in IN_FLIGHT or (current["status"] == "finished" and not force)):
                outcome.update(record=current, enqueue=False)
                pipe.multi()
                return
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
                "links": {"self": f"/profile/{pid}"},
            }
            if current is not None and current.get("result"):
                record["previous_result"] = current["result"]
            pipe.multi()
            pipe.set(key, json.dumps(record))
            pipe.publish(self.changed_channel, pid)
            outcome.update(record=record, enqueue=True)

        self.r.transaction(tx, key)
        return outcome["record"], outcome["enqueue"]

    def forget(self, pid: str, run: int) -> None:
        """Undo a claim whose enqueue failed, so the request can be retried cleanly."""
        self._update(pid, run, lambda rec: None)

    # ------------------------------------------------------------------ worker transitions
    def start(self, pid: str, run: int, worker: str, attempt: int = 1) -> bool:
        def change(rec):
            if rec["status"] != "queued" or rec.get("attempt", 1) != attempt:
                return False
            rec.update(status="started", started_at=now_iso(), worker=worker)
            return rec

        # The lease is taken in the same transaction, so the reaper never sees a started job
        # without one.
        return self._update(pid, run, change, also=lambda pipe, _rec: (
            pipe.sadd(self.started_key, pid), pipe.set(self.lease_key(pid), f"{run}:{attempt}:{worker}", ex=LEASE_TTL_S)))

    def progress(self, pid: str, phase: str, **details) -> None:
        self.r.set(self.progress_key(pid), json.dumps({"phase": phase, "at": now_iso(), **details}), ex=3600)

    def finish(self, pid: str, run: int, result: dict, attempt: int = 1) -> bool:
        def change(rec):
            if rec["status"] != "started" or rec.get("attempt", 1) != attempt:
                return False
            rec.update(status="finished", finished_at=now_iso(), result=result, error=None)
            rec.pop("previous_result", None)
            return rec

        ok = self._update(pid, run, change, ttl=self.result_ttl, also=self._add_points)
        if ok:
            self._count_outcome("finished", pid)
        return ok

    # ------------------------------------------------------------------ runtime points
    def points_key(self, device_class: str, dtype: str, batch_size: int, mode: str) -> str:
        return f"{self.prefix}:points:{device_class}:{dtype}:{batch_size}:{mode}"

    def _add_points(self, pipe, rec: dict) -> None:
        """Each finished measurement becomes a point (acts, flops, ms) of its device signature."""
        prof, cx = rec["profile"], rec["plan"]["complexity"]
        for mode in prof["modes"]:
            ms = rec["result"][mode]["median_ms"]
            key = self.points_key(rec["device_class"], prof["dtype"], prof["batch_size"], mode)
            pipe.hset(key, rec["id"], json.dumps([cx["acts"], cx["flops"], ms]))

    def point_keys(self) -> list[str]:
        return sorted(k.decode() for k in self.r.scan_iter(f"{self.prefix}:points:*", count=500))

    def points(self, key: str) -> list[list[float]]:
        return [json.loads(v) for v in self.r.hvals(key)]

    def fail(self, pid: str, run: int, error_type: str, message: str, attempt: int | None = None) -> bool:
        def change(rec):
            if rec["status"] in DONE or (attempt is not None and rec.get("attempt", 1) != attempt):
                return False
            rec.update(status="failed", finished_at=now_iso(), error={"type": error_type, "message": message})
            return rec

        ok = self._update(pid, run, change, ttl=self.failure_ttl)
        if ok:
            self._count_outcome("failed", pid)
        return ok

    def _count_outcome(self, outcome: str, pid: str) -> None:
        """Outcome counts and total job seconds (for the jobs metrics)."""
        rec = self.get(pid)
        pipe = self.r.pipeline(transaction=False)
        pipe.hincrby(self.stats_key, f"jobs_{outcome}", 1)
        if rec and rec.get("started_at") and rec.get("finished_at"):
            seconds = (datetime.fromisoformat(rec["finished_at"]) - datetime.fromisoformat(rec["started_at"])).total_seconds()
            pipe.hincrbyfloat(self.stats_key, f"seconds_{outcome}", seconds)
        pipe.execute()

    # ------------------------------------------------------------------ abandoned jobs
    def reap(self, requeue, max_attempts: int, min_age_s: float = LEASE_TTL_S) -> list[tuple[str, str]]:
        """Find started jobs whose worker lease expired; re-queue them (bounded) or fail them.

        ``requeue(record)`` enqueues the job of the record's new attempt. Safe to run from many
        processes at once: each transition is a transaction on the record, so a job is re-queued
        once per expiry, and the old attempt can no longer write a result.
        """
        actions = []
        for raw_pid in self.r.smembers(self.started_key):
            pid = raw_pid.decode()
            rec = self.get(pid)
            if rec is None or rec["status"] != "started":
                self.r.srem(self.started_key, pid)
                continue
            if self.r.exists(self.lease_key(pid)):
                continue
            started = datetime.fromisoformat(rec["started_at"]) if rec.get("started_at") else None
            if started and (datetime.now(timezone.utc) - started).total_seconds() < min_age_s:
                continue
            attempt = rec.get("attempt", 1)
            if attempt >= max_attempts:
                msg = (f"the worker running this job was lost {attempt} time(s) (its lease expired); "
                       f"giving up after {max_attempts} attempts")
                if self.fail(pid, rec["run"], "WorkerLost", msg, attempt=attempt):
                    actions.append((pid, "failed"))
                continue

            def change(r, attempt=attempt):
                if r["status"] != "started" or r.get("attempt", 1) != attempt:
                    return False
                r.update(status="queued", attempt=attempt + 1, enqueued_at=now_iso(), started_at=None,
                         lost_workers=r.get("lost_workers", []) + [r.get("worker")])
                return r

            if self._update(pid, rec["run"], change, also=lambda pipe, _rec, pid=pid: pipe.srem(self.started_key, pid)):
                requeue(self.get(pid))
                actions.append((pid, "requeued"))
        return actions

    def _update(self, pid: str, run: int, change, ttl: int | None = None, also=None) -> bool:
        """Apply ``change`` to the record of ``run`` atomically; False if it is not that run's."""
        key = self.key(pid)
        applied = []

        def tx(pipe: redis.client.Pipeline) -> None:
            raw = pipe.get(key)
            rec = json.loads(raw) if raw else None
            if rec is None or rec.get("run") != run:
                pipe.multi()
                return
            new = change(rec)
            pipe.multi()
            if new is None:
                pipe.delete(key)
            elif new is not False:
                pipe.set(key, json.dumps(new), ex=ttl)
                if new["status"] in DONE:
                    pipe.delete(self.progress_key(pid), self.lease_key(pid))
                    pipe.srem(self.started_key, pid)
            if new is not False:
                if also is not None:
                    also(pipe, new)
                pipe.publish(self.changed_channel, pid)
                applied.append(True)

        self.r.transaction(tx, key)
        return bool(applied)

    # ------------------------------------------------------------------ stats
    def count(self, field: str, n: int = 1) -> None:
        self.r.hincrby(self.stats_key, field, n)

    def stats(self) -> dict[str, float]:
        return {k.decode(): float(v) for k, v in self.r.hgetall(self.stats_key).items()}

