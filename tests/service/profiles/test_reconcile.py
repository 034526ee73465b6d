"""The reconciler and the reaper against a real Redis and RQ's own queues (issue 22, findings 1
and 6): a queued record whose job is in no queue is re-queued at the front after two passes, or
failed once its attempts are spent; a job still in its queue is left alone."""

from __future__ import annotations

import uuid

import pytest

from service.errors import WorkerLost
from service.profiles.jobs import enqueue_record, job_id
from service.profiles.reconcile import Reconciler, rq_reason
from service.profiles.recovery import reap_once
from service.redis.queues import get_queue
from tests.service_helpers import settings_for

BASE = {"plan": {"arch": {}, "resolution": 32, "base": {"name": "tiny"}, "strategy": {"name": "w"}},
        "profile": {"batch_size": 2, "modes": ["inference"], "dtype": "float32"}, "device_class": "cpu-rec"}


@pytest.fixture
def settings(store, redis_url):
    s = settings_for(redis_url, store.prefix, reconcile_interval_s=5, max_attempts=3)
    yield s
    for key in store.r.scan_iter(f"rq:*{store.prefix}*"):
        store.r.delete(key)


def claim(store, settings, queued: bool) -> dict:
    pid = uuid.uuid4().hex
    also = (lambda pipe, rec: enqueue_record(store.r, settings, rec, pipeline=pipe)) if queued else None
    record, _ = store.claim(pid, BASE, force=False, also=also)
    return record


def test_a_queued_record_with_its_job_is_left_alone(store, settings):
    claim(store, settings, queued=True)
    rec = Reconciler(store, settings)
    assert rec.run_once(now=0) == [] and rec.run_once(now=100) == [] and rec.suspects == {}


def test_a_jobless_queued_record_is_requeued_at_the_front_after_two_passes(store, settings):
    waiting = claim(store, settings, queued=True)
    orphan = claim(store, settings, queued=False)  # a claim whose enqueue never happened
    rec = Reconciler(store, settings)
    assert rec.run_once(now=0) == []  # first seen jobless: a worker may be taking it right now
    assert rec.run_once(now=4) == []  # not yet the interval
    assert rec.run_once(now=5) == [(orphan["id"], "requeued")]
    repaired = store.get(orphan["id"])
    assert repaired["status"] == "queued" and repaired["attempt"] == 2
    queue = get_queue(store.r, settings.key_prefix, "cpu-rec")
    assert queue.job_ids == [job_id(repaired), job_id(waiting)]  # finding 6: recovered at the front
    assert rec.run_once(now=100) == []


def test_a_job_taken_by_a_worker_that_died_is_recovered_with_rq_s_reason(store, settings):
    record = claim(store, settings, queued=True)
    queue = get_queue(store.r, settings.key_prefix, "cpu-rec")
    store.r.lmove(queue.key, queue.intermediate_queue_key, "LEFT", "RIGHT")  # what a worker's dequeue does
    rec = Reconciler(store, settings)
    rec.run_once(now=0)
    assert rq_reason(store, settings, record) == "its worker took the job and was lost before starting it"
    assert rec.run_once(now=6) == [(record["id"], "requeued")]
    assert store.get(record["id"])["attempt"] == 2 and queue.job_ids == [job_id(store.get(record["id"]))]


def test_after_max_attempts_a_jobless_record_fails_as_worker_lost(store, settings):
    record = claim(store, settings, queued=False)
    store.update(record["id"], 1, lambda r: {**r, "attempt": 3})
    rec = Reconciler(store, settings)
    rec.run_once(now=0)
    assert rec.run_once(now=5) == [(record["id"], "failed")]
    failed = store.get(record["id"])
    assert failed["status"] == "failed" and failed["error"]["type"] == WorkerLost.code
    assert "giving up after 3 attempts" in failed["error"]["message"]


def test_the_reaper_requeues_a_lost_started_job_at_the_front_with_its_job(store, settings):
    waiting = claim(store, settings, queued=True)
    lost = claim(store, settings, queued=False)
    store.start(lost["id"], 1, "w1")
    store.r.delete(store.keys.lease(lost["id"]))
    store.update(lost["id"], 1, lambda r: {**r, "started_at": "2000-01-01T00:00:00.000+00:00"})
    assert reap_once(store, settings) == [(lost["id"], "requeued")]
    again = store.get(lost["id"])
    assert again["status"] == "queued" and again["attempt"] == 2
    assert get_queue(store.r, settings.key_prefix, "cpu-rec").job_ids == [job_id(again), job_id(waiting)]


def test_a_job_rq_failed_while_its_record_was_queued_is_mapped_back(store, settings):
    from rq.registry import FailedJobRegistry
    from rq.results import Result

    record = claim(store, settings, queued=True)
    queue = get_queue(store.r, settings.key_prefix, "cpu-rec")
    job = queue.fetch_job(job_id(record))
    queue.remove(job)
    FailedJobRegistry(queue=queue).add(job, ttl=60)  # as RQ's clean-up of a stuck job does, with its Result
    Result.create_failure(job, ttl=60, exc_string="Traceback...\nJob was stuck in intermediate queue.")
    assert rq_reason(store, settings, record) == "RQ failed its job: Job was stuck in intermediate queue."
    rec = Reconciler(store, settings)
    rec.run_once(now=0)
    assert rec.run_once(now=5) == [(record["id"], "requeued")] and queue.count == 1
