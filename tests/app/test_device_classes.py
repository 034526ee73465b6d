"""Issue 13, item 11: 503 + Retry-After only for a device class whose workers were seen lately
(a restart, a deploy); a class nobody has seen is a 422 naming the classes that exist."""

from __future__ import annotations

import time

import pytest
import redis

from service.redis.queues import mark_seen
from tests.service_helpers import TINY_SPEC, register_idle_worker

PROFILE = {"batch_size": 2, "time_budget_s": 0.5}


def scale(service, device: str):
    return service.post("/scale", json={"spec": TINY_SPEC, "factor": 2, "profile": {**PROFILE, "device": device}})


@pytest.fixture
def cpu_only(service):
    register_idle_worker(service.settings, "cpu-test")
    return service


@pytest.mark.parametrize("device", ["cuda", "cuda-nvidia-h100"])
def test_a_device_nobody_has_seen_is_a_422_naming_what_exists(cpu_only, device):
    r = scale(cpu_only, device)
    assert r.status_code == 422 and "retry-after" not in r.headers, r.text
    problem = r.json()
    assert problem["errors"][0]["field"] == "profile.device" and "cpu-test" in problem["errors"][0]["allowed"]
    assert "FASTSCALE_WORKER_SEEN_WINDOW_S" in problem["detail"]


@pytest.mark.parametrize("device", ["cuda", "cuda-nvidia-h100"])
def test_a_device_seen_lately_is_queued_to_wait_for_its_worker(cpu_only, device):
    client = redis.Redis.from_url(cpu_only.settings.redis_url)
    mark_seen(client, cpu_only.settings.key_prefix, ["cuda-nvidia-h100"], now=time.time() - 60)
    r = scale(cpu_only, device)
    assert r.status_code == 202 and r.json()["device_class"] == "cuda-nvidia-h100"


def test_a_device_seen_long_ago_is_a_422(cpu_only):
    client = redis.Redis.from_url(cpu_only.settings.redis_url)
    long_ago = time.time() - cpu_only.settings.worker_seen_window_s - 60
    mark_seen(client, cpu_only.settings.key_prefix, ["cuda-nvidia-h100"], now=long_ago)
    assert scale(cpu_only, "cuda").status_code == 422


def test_no_worker_at_all_is_a_422_saying_how_to_start_one(service):
    r = scale(service, "auto")
    assert r.status_code == 422 and "fastscale worker" in r.json()["errors"][0]["allowed"]


def test_live_workers_are_recorded_as_seen(cpu_only):
    assert scale(cpu_only, "cpu").status_code == 202
    seen = redis.Redis.from_url(cpu_only.settings.redis_url).hgetall(f"{cpu_only.settings.key_prefix}:device_seen")
    assert abs(float(seen[b"cpu-test"]) - time.time()) < 30
