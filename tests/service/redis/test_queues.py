"""Queues against a real Redis and RQ's own worker registry: device classes, JSON jobs, depths."""

from __future__ import annotations

import json
import zlib
from collections import Counter

import pytest
import redis
from rq.serializers import JSONSerializer

from service.errors import UnknownDevice
from service.profiles.jobs import JOB_FIELDS, enqueue_record, job_from_record
from service.redis.queues import JOB_FUNCTION, get_queue, queue_depths, resolve_device_class, workers_by_class
from tests.service_helpers import register_idle_worker, settings_for


@pytest.fixture
def settings(redis_url):
    s = settings_for(redis_url)
    yield s
    r = redis.Redis.from_url(redis_url)
    for pattern in (f"{s.key_prefix}:*", f"rq:*{s.key_prefix}*"):
        for key in r.scan_iter(pattern):
            r.delete(key)


def test_workers_are_counted_per_device_class_of_this_prefix_only(settings):
    r = redis.Redis.from_url(settings.redis_url)
    for cls in ("cpu-a", "cpu-a", "cuda-h100"):
        register_idle_worker(settings, cls)
    register_idle_worker(settings_for(settings.redis_url, settings.key_prefix + "x"), "cpu-other")
    counts = workers_by_class(r, settings.key_prefix)
    assert counts == Counter({"cpu-a": 2, "cuda-h100": 1})
    assert queue_depths(r, settings.key_prefix, counts) == {"cpu-a": 0, "cuda-h100": 0}


@pytest.mark.parametrize("requested,workers,expected", [
    ("auto", {"cpu-a": 1, "cuda-h100": 1}, "cuda-h100"),  # auto prefers GPUs
    ("auto", {"cpu-a": 1}, "cpu-a"),
    ("cuda", {"cuda-a100": 1, "cuda-h100": 2}, "cuda-h100"),  # most workers wins
    ("cpu", {"cpu-b": 1, "cpu-a": 1}, "cpu-a"),  # ties by name: stable
    ("cuda-imaginary", {}, "cuda-imaginary"),  # explicit classes resolve without workers (cached results)
])
def test_device_classes_resolve(requested, workers, expected):
    assert resolve_device_class(requested, Counter(workers)) == expected


def test_a_kind_seen_lately_resolves_to_its_class_so_the_job_waits_and_one_never_seen_is_a_422():
    """Issue 22, finding 7: a queue exists so that work waits for workers (a restart, serve starting)."""
    assert resolve_device_class("cuda", Counter({"cpu-a": 1}), seen={"cpu-a", "cuda-h100"}) == "cuda-h100"
    with pytest.raises(UnknownDevice) as err:
        resolve_device_class("cuda", Counter({"cpu-a": 1}), seen={"cpu-a"})
    assert err.value.status == 422 and err.value.field == "profile.device"


def test_a_job_is_json_data_built_from_its_record(settings):
    r = redis.Redis.from_url(settings.redis_url)
    record = {"id": "a" * 32, "run": 2, "attempt": 3, "plan": {"arch": {}}, "profile": {"batch_size": 2},
              "device_class": "cpu-a", "request_id": "req-1", "status": "queued", "links": {}}
    assert job_from_record(record) == {**{k: record[k] for k in JOB_FIELDS}, "request_id": None}
    job = enqueue_record(r, settings, record, "req-2")
    assert job.id == f"{'a' * 32}-r2-a3" and job.timeout == settings.job_timeout_s
    queue = get_queue(r, settings.key_prefix, "cpu-a")
    assert queue.name == f"{settings.key_prefix}:cpu-a" and queue.count == 1
    assert queue.serializer is JSONSerializer or queue.serializer.__name__ == "JSONSerializer"
    func, _instance, args, kwargs = json.loads(zlib.decompress(r.hget(f"rq:job:{job.id}", "data")).decode())
    assert func == JOB_FUNCTION and args == [job_from_record(record, "req-2")] and kwargs == {}
