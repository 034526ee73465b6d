"""Operations: metrics, JSON logs with a request id that reaches the worker, graceful worker stop."""

from __future__ import annotations

import json
import signal

from tests.service_helpers import TINY_PROFILE, TINY_SPEC, WorkerProcess, wait_status
from tests.load import scaled


def test_metrics_cover_requests_latency_queues_workers_jobs_and_cache(service, worker):
    pid = service.post("/scale", json={"spec": TINY_SPEC, "factor": 2, "profile": TINY_PROFILE}).json()["id"]
    wait_status(service, pid)
    service.post("/scale", json={"spec": TINY_SPEC, "factor": 2, "profile": TINY_PROFILE})  # cache hit
    text = service.get("/metrics").text
    for needle in ('fastscale_http_requests_total{method="POST",route="/scale",status="202"}',
                   'fastscale_http_request_seconds_bucket', 'fastscale_workers{device_class="cpu-test"} 1.0',
                   'fastscale_queue_depth{device_class="cpu-test"} 0.0', 'fastscale_jobs_total{outcome="finished"} 1.0',
                   'fastscale_job_seconds_total{outcome="finished"}', 'fastscale_cache_lookups_total{result="hit"} 1.0',
                   'fastscale_cache_lookups_total{result="miss"} 1.0'):
        assert needle in text, needle


def test_request_id_follows_the_job_into_the_worker_log(service):
    w = WorkerProcess(service.settings).wait_registered()
    r = service.post("/scale", json={"spec": TINY_SPEC, "factor": 2, "profile": TINY_PROFILE},
                     headers={"x-request-id": "req-trace-42"})
    assert r.headers["x-request-id"] == "req-trace-42"
    assert wait_status(service, r.json()["id"])["status"] == "finished"
    log = w.stop()
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    mine = [entry for entry in lines if entry.get("request_id") == "req-trace-42"]
    assert {"profile started", "profile finished"} <= {entry["msg"] for entry in mine}
    assert all(entry["profile_id"] == r.json()["id"] for entry in mine)


def test_sigterm_lets_a_worker_finish_its_job_then_exit(service):
    w = WorkerProcess(service.settings).wait_registered()
    pid = service.post("/scale", json={"spec": TINY_SPEC, "factor": 2, "profile": {**TINY_PROFILE, "time_budget_s": 2}}).json()["id"]
    wait_status(service, pid, statuses=("started",), timeout=120)
    w.proc.send_signal(signal.SIGTERM)
    assert w.proc.wait(scaled(180)) == 0
    assert wait_status(service, pid, timeout=30)["status"] == "finished"
