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
import time
from datetime import datetime, timezone

import redis

IN_FLIGHT = ("queued", "started")
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

    def cached_result(self, pid: str) -> dict | None:
        record = self.get(pid)
        return record if record and record["status"] == "finished" else None

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
    def start(self, pid: str, run: int, worker: str) -> bool:
        def change(rec):
            if rec["status"] != "queued":
                return False
            rec.update(status="started", started_at=now_iso(), worker=worker)
            return rec

        return self._update(pid, run, change)

    def progress(self, pid: str, phase: str, **details) -> None:
        self.r.set(self.progress_key(pid), json.dumps({"phase": phase, "at": now_iso(), **details}), ex=3600)

    def finish(self, pid: str, run: int, result: dict) -> bool:
        def change(rec):
            if rec["status"] != "started":
                return False
            rec.update(status="finished", finished_at=now_iso(), result=result, error=None)
            rec.pop("previous_result", None)
            return rec

        ok = self._update(pid, run, change, ttl=self.result_ttl)
        if ok:
            self.r.hincrby(self.stats_key, "jobs_finished", 1)
        return ok

    def fail(self, pid: str, run: int, error_type: str, message: str) -> bool:
        def change(rec):
            if rec["status"] in DONE:
                return False
            rec.update(status="failed", finished_at=now_iso(), error={"type": error_type, "message": message})
            return rec

        ok = self._update(pid, run, change, ttl=self.failure_ttl)
        if ok:
            self.r.hincrby(self.stats_key, "jobs_failed", 1)
        return ok

    def _update(self, pid: str, run: int, change, ttl: int | None = None) -> bool:
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
                    pipe.delete(self.progress_key(pid))
            if new is not False:
                pipe.publish(self.changed_channel, pid)
                applied.append(True)

        self.r.transaction(tx, key)
        return bool(applied)

    # ------------------------------------------------------------------ stats
    def count(self, field: str, n: int = 1) -> None:
        self.r.hincrby(self.stats_key, field, n)

    def stats(self) -> dict[str, int]:
        return {k.decode(): int(v) for k, v in self.r.hgetall(self.stats_key).items()}


def wait_for(store: ProfileStore, pid: str, timeout: float, statuses=DONE, poll: float = 0.1) -> dict | None:
    """Poll until the record reaches one of ``statuses`` (tests and the CLI client use this)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rec = store.get(pid)
        if rec and rec["status"] in statuses:
            return rec
        time.sleep(poll)
    return store.get(pid)
