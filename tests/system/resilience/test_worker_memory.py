"""Issue 13, item 3, with real workers: every worker's host memory is capped by what it writes
(RLIMIT_DATA), never by address space (which CUDA needs by the terabyte); a job past the cap fails
as out-of-memory, and the same worker serves the next job."""

from __future__ import annotations

import uuid

import pytest
import redis
from fastapi.testclient import TestClient

from app.main import create_app
from tests.service_helpers import TINY_SPEC, WorkerProcess, settings_for, wait_status


def limits(pid: int) -> dict[str, str]:
    with open(f"/proc/{pid}/limits") as fh:
        rows = fh.read().splitlines()[1:]
    return {row[:26].strip(): row[26:47].strip() for row in rows}


@pytest.fixture
def generous_api(redis_url):
    """The API's own check would refuse the big job first (predicted peak against the published
    cap); a headroom of 1000x lets it through to meet the worker's cap, as a misprediction would."""
    settings = settings_for(redis_url, f"fst{uuid.uuid4().hex[:8]}", memory_headroom=1000.0)
    with TestClient(create_app(settings)) as api:
        api.settings = settings
        yield api
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(f"{settings.key_prefix}:*"):
        client.delete(key)


def test_every_worker_is_capped_by_data_not_address_space(service):
    w = WorkerProcess(service.settings).wait_registered(90)
    try:
        caps = limits(w.proc.pid)
    finally:
        w.stop()
    assert caps["Max data size"] != "unlimited" and caps["Max address space"] == "unlimited", caps


def test_a_job_past_the_cap_fails_as_out_of_memory_and_the_worker_lives_on(generous_api):
    api = generous_api
    w = WorkerProcess(api.settings, env={"FASTSCALE_WORKER_MEMORY_LIMIT_BYTES": str(512 * 2**20)}).wait_registered(90)
    try:
        big = api.post("/scale", json={"spec": TINY_SPEC, "factor": 2, "profile": {
            "device": "cpu-test", "batch_size": 1024, "modes": ["training"], "time_budget_s": 1}})
        assert big.status_code == 202, big.text
        failed = wait_status(api, big.json()["id"], timeout=120)
        assert failed["status"] == "failed" and failed["error"]["type"] == "ProfileOOM", failed["error"]
        small = api.post("/scale", json={"spec": TINY_SPEC, "factor": 2, "profile": {
            "device": "cpu-test", "batch_size": 2, "modes": ["inference"], "time_budget_s": 0.3}}).json()
        done = wait_status(api, small["id"], timeout=120)
        assert done["status"] == "finished" and done["worker"] == failed["worker"]  # the same process
        assert w.proc.poll() is None
    finally:
        w.stop()
