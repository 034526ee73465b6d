"""The reaper against a real Redis: a started job whose lease expired is re-queued as a new
attempt (once, however many reapers run), or failed as WorkerLost after max_attempts."""

from __future__ import annotations

import uuid

import pytest
import redis

from service.errors import WorkerLost
from service.profiles.recovery import reap
from service.profiles.store import ProfileStore

BASE = {"plan": {"arch": {}, "resolution": 32}, "profile": {"batch_size": 2}, "device_class": "cpu-test"}


@pytest.fixture
def store(redis_url):
    prefix = f"fst{uuid.uuid4().hex[:8]}"
    s = ProfileStore(redis.Redis.from_url(redis_url), prefix)
    yield s
    for key in s.r.scan_iter(f"{prefix}:*"):
        s.r.delete(key)


def started_without_lease(store: ProfileStore) -> str:
    pid = uuid.uuid4().hex
    store.claim(pid, BASE, force=False)
    store.start(pid, 1, "w1")
    store.r.delete(store.keys.lease(pid))  # the worker died: its lease is gone
    return pid


def test_an_abandoned_job_is_requeued_once_for_a_new_attempt(store):
    pid = started_without_lease(store)
    requeued = []
    assert reap(store, lambda pipe, rec: requeued.append(rec), max_attempts=3, min_age_s=0) == [(pid, "requeued")]
    assert reap(store, lambda pipe, rec: requeued.append(rec), max_attempts=3, min_age_s=0) == []  # a second reaper finds nothing
    assert [r["attempt"] for r in requeued] == [2] and requeued[0]["status"] == "queued"
    assert store.get(pid)["lost_workers"] == ["w1"]


def test_a_job_with_a_live_lease_or_too_young_is_left_alone(store):
    pid = uuid.uuid4().hex
    store.claim(pid, BASE, force=False)
    store.start(pid, 1, "w1")  # the lease is alive
    assert reap(store, lambda pipe, rec: None, max_attempts=3, min_age_s=0) == []
    store.r.delete(store.keys.lease(pid))
    assert reap(store, lambda pipe, rec: None, max_attempts=3, min_age_s=3600) == []  # started just now


def test_after_max_attempts_the_job_fails_as_worker_lost(store):
    pid = started_without_lease(store)
    assert reap(store, lambda pipe, rec: None, max_attempts=1, min_age_s=0) == [(pid, "failed")]
    rec = store.get(pid)
    assert rec["status"] == "failed" and rec["error"]["type"] == WorkerLost.code == "WorkerLost"
    assert "lost 1 time" in rec["error"]["message"]
