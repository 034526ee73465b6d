"""Issue 22, requirement 2: every transaction helper reports what its committed pass did.

Each test forces a retry the way it happens live: a second client writes the record between the
helper's read and its EXEC (at the store's fault point, service.faults), so EXEC aborts and the
helper's callback runs again on the new record. Before the fix ``update`` kept the first pass's
"applied" across the retry: a DELETE racing the worker answered "cancelled" while the job ran on,
a start succeeded for a cancelled job, and a superseded finish counted as finished.
"""

from __future__ import annotations

import json
import uuid
from types import SimpleNamespace

import pytest
import redis

from service import faults
from service.profiles.cancel import cancel_profile
from service.profiles.store import ProfileStore
from tests.service_helpers import settings_for

BASE = {"plan": {"arch": {}, "resolution": 32, "base": {"name": "tiny"}, "strategy": {"name": "w"}},
        "profile": {"batch_size": 2, "modes": ["inference"], "dtype": "float32"}, "device_class": "cpu-test"}
RESULT = {"inference": {"median_ms": 1.0, "stable": False}}


@pytest.fixture(autouse=True)
def _disarmed():
    yield
    faults.disarm()


@pytest.fixture
def other(store, redis_url) -> ProfileStore:
    """Another process's view of the same records, on its own connection."""
    return ProfileStore(redis.Redis.from_url(redis_url), store.prefix, store.result_ttl, store.failure_ttl)


def between_read_and_exec(point: str, write) -> list:
    """Arm ``point`` to run ``write`` once; the list records that it ran (the retry was forced)."""
    ran: list = []
    faults.arm(point, lambda: (ran.append(True), write()))
    return ran


def new_pid(store: ProfileStore, started: bool = False) -> str:
    pid = uuid.uuid4().hex
    store.claim(pid, BASE, force=False)
    if started:
        assert store.start(pid, 1, "w1")
    return pid


def test_update_whose_retry_changes_nothing_reports_false(store, other):
    pid = new_pid(store)
    ran = between_read_and_exec("store.update.read", lambda: other.start(pid, 1, "w-other"))
    calls = []

    def change(rec):
        calls.append(rec["status"])
        return {**rec, "note": "x"} if rec["status"] == "queued" else False

    assert store.update(pid, 1, change) is False
    assert ran and calls == ["queued", "started"]  # the retry saw the other client's write
    assert "note" not in store.get(pid) and store.get(pid)["worker"] == "w-other"


def test_claim_reports_the_committed_pass_dedupe_after_a_racing_claim(store, other):
    pid = uuid.uuid4().hex
    jobs = f"{store.prefix}:test-jobs"
    ran = between_read_and_exec("store.claim.read", lambda: other.claim(pid, BASE, force=False,
                                                                        also=lambda pipe, rec: pipe.rpush(jobs, "other")))
    record, enqueue = store.claim(pid, BASE, force=False, also=lambda pipe, rec: pipe.rpush(jobs, "ours"))
    assert ran and enqueue is False and record["status"] == "queued" and record["run"] == 1
    # One job for one record: the aborted pass's enqueue went with its MULTI, the committed pass had none.
    assert store.r.lrange(jobs, 0, -1) == [b"other"]


def test_start_of_a_job_cancelled_between_read_and_exec_reports_false(store, other):
    pid = new_pid(store)
    ran = between_read_and_exec("store.update.read", lambda: other.update(
        pid, 1, lambda rec: {**rec, "status": "cancelled"}, ttl=60))
    assert store.start(pid, 1, "w1") is False
    rec = store.get(pid)
    assert ran and rec["status"] == "cancelled" and rec.get("worker") is None
    assert not store.r.exists(store.keys.lease(pid)) and not store.r.sismember(store.keys.started, pid)


def test_a_cancelled_job_is_never_started(store):
    pid = new_pid(store)
    c = SimpleNamespace(store=store, redis=store.r, keys=store.keys, settings=settings_for("redis://x", store.prefix))
    record, now = cancel_profile(c, pid)
    assert now and record["status"] == "cancelled"
    assert store.start(pid, 1, "w1") is False and store.start(pid, 1, "w1", attempt=2) is False
    assert store.get(pid)["status"] == "cancelled" and store.get(pid)["started_at"] is None


def test_cancel_racing_the_worker_start_asks_the_running_job_to_stop(store, other):
    """Seen live: DELETE as the worker picked the job up answered 200 'cancelled' with the record
    started and no cancel flag, so the job ran on."""
    pid = new_pid(store)
    c = SimpleNamespace(store=store, redis=store.r, keys=store.keys, settings=settings_for("redis://x", store.prefix))
    ran = between_read_and_exec("store.update.read", lambda: other.start(pid, 1, "w1"))
    record, now = cancel_profile(c, pid)
    assert ran and now is False and record["status"] == "started" and record["cancel_requested"] is True
    assert int(store.r.get(store.keys.cancel("profile", pid))) == 1  # the worker's next check stops it
    assert store.get(pid)["status"] == "started"


def test_a_finish_superseded_between_read_and_exec_is_neither_written_nor_counted(store, other):
    pid = new_pid(store, started=True)
    ran = between_read_and_exec("store.update.read", lambda: other.requeue(pid, 1, 1))
    assert store.finish(pid, 1, RESULT, attempt=1) is False
    rec = store.get(pid)
    assert ran and rec["status"] == "queued" and rec["attempt"] == 2 and rec["result"] is None
    assert store.stats().get("jobs_finished", 0) == 0


def test_counters_are_written_with_the_state_they_count(store, other):
    pid = new_pid(store, started=True)
    # A retry that still applies (another client touched the record, not its state) counts once.
    ran = between_read_and_exec("store.update.read", lambda: other.r.set(
        other.keys.profile(pid), json.dumps({**other.get(pid), "touched": True})))
    assert store.finish(pid, 1, RESULT, attempt=1) is True
    assert ran and store.stats()["jobs_finished"] == 1 and store.get(pid)["touched"] is True
    failed = new_pid(store, started=True)
    assert store.fail(failed, 1, "X", "boom", attempt=1) and not store.fail(failed, 1, "X", "again")
    assert store.stats()["jobs_failed"] == 1
