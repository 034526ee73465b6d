"""Measurement through the service: OOM, largest batch, repeatability of force, option checks."""

from __future__ import annotations

import pytest

from fastscale.memory import largest_batch, plan_memory
from tests.service_helpers import TINY_PROFILE, TINY_SPEC, WorkerProcess, wait_status

SMALL_REAL = {"model": "RegNetY-400MF", "strategy": "dWr", "factor": 0.25}
CAP = 1536 * 2**20  # what the capped worker publishes one job may use


@pytest.fixture
def capped_worker(service):
    w = WorkerProcess(service.settings, env={"FASTSCALE_WORKER_MEMORY_LIMIT_BYTES": str(CAP)}).wait_registered()
    yield w
    w.stop()


@pytest.fixture
def trusting_service(service_with):
    """The API's guard would refuse a job the worker cannot hold (required bytes against the published
    cap); a headroom of 1000x lets it through to the worker, as a misprediction would."""
    return service_with(memory_headroom=1000.0)


def test_predicted_memory_over_the_device_is_refused_before_queueing(service, capped_worker):
    big = {"spec": TINY_SPEC, "factor": 1, "profile": {**TINY_PROFILE, "batch_size": 1024, "modes": ["training"]}}
    r = service.post("/scale", json=big)
    assert r.status_code == 422
    err = r.json()["errors"][0]
    assert err["field"] == "profile.batch_size" and "predicted peak memory (training)" in err["message"]
    plan = service.post("/plan", json={"spec": TINY_SPEC, "factor": 1}).json()
    fit = largest_batch(plan["arch"], plan["resolution"], "float32", "training", int(CAP * 0.9), device="cpu")
    assert 2 < fit < 1024 and f"a batch size of at most {fit} " in err["allowed"]
    ok = {**big, "profile": {**big["profile"], "batch_size": fit}}
    assert service.post("/scale", json=ok).status_code == 202  # the hint is taken


def test_out_of_memory_fails_with_a_clear_message_and_the_worker_goes_on(trusting_service):
    api = trusting_service
    w = WorkerProcess(api.settings, env={"FASTSCALE_WORKER_MEMORY_LIMIT_BYTES": str(512 * 2**20)}).wait_registered()
    try:
        big = {"spec": TINY_SPEC, "factor": 1, "profile": {**TINY_PROFILE, "batch_size": 1024, "modes": ["training"]}}
        queued = api.post("/scale", json=big)
        assert queued.status_code == 202, queued.text  # past the guard: the worker meets it
        failed = wait_status(api, queued.json()["id"], timeout=120)
        assert failed["status"] == "failed" and failed["error"]["type"] == "ProfileOOM", failed["error"]
        msg = failed["error"]["message"]
        assert "batch size 1024" in msg and "asked" in msg and "free of" in msg, msg
        ok = api.post("/scale", json={"spec": TINY_SPEC, "factor": 1, "profile": TINY_PROFILE}).json()["id"]
        done = wait_status(api, ok)
        assert done["status"] == "finished" and done["worker"] == failed["worker"]
        assert w.proc.poll() is None
    finally:
        w.stop()


def test_largest_batch_starts_at_the_prediction(service, capped_worker):
    body = {"spec": TINY_SPEC, "factor": 1, "profile": {**TINY_PROFILE, "modes": ["training"], "find_max_batch": True}}
    done = wait_status(service, service.post("/scale", json=body).json()["id"], timeout=300)
    assert done["status"] == "finished", done.get("error")
    best = done["result"]["max_batch_size"]["training"]
    search = done["result"]["max_batch_search"]["training"]
    assert 2 <= best < 1024 and search["trials"][0] == search["predicted"] > 2, search
    assert search["bracket"][0] <= search["predicted"] <= search["bracket"][1]


def test_force_remeasures_a_cached_profile_as_a_new_run(service, worker):
    """``force`` measures again (run 2, 3, new samples) instead of serving the cache.

    Repeatability itself is a GPU goal (bench/gpu_e2e.py, repeat spread <= 0.5 % on an H200). On
    a shared 2-core VM no timing bound holds: CI saw three 2 s runs spread 8-29 %, and with other
    jobs on the machine medians of one model varied 2.3x between runs. So this test holds what
    is deterministic: each forced run is a new, complete measurement of the same profile.
    """
    body = {**SMALL_REAL, "profile": {"device": "cpu", "batch_size": 4, "modes": ["inference"], "time_budget_s": 1}}
    pid = service.post("/scale", json=body).json()["id"]
    results = []
    for run in (1, 2, 3):
        if run > 1:
            assert service.post("/scale", json={**body, "force": True}).status_code == 202
        done = wait_status(service, pid, timeout=120)
        assert done["status"] == "finished" and done["run"] == run
        m = done["result"]["inference"]
        assert m["ci95_low_ms"] <= m["median_ms"] <= m["ci95_high_ms"]
        results.append((done["finished_at"], m["median_ms"], m["timed_s"]))
    assert len(set(results)) == 3  # three measurements, not one served thrice


def test_cuda_graphs_need_a_cuda_device(service, worker):
    body = {"spec": TINY_SPEC, "factor": 1, "profile": {**TINY_PROFILE, "cuda_graphs": True}}
    r = service.post("/scale", json=body)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "profile.cuda_graphs"


def test_memory_prediction_is_reported_beside_the_measurement(service, worker):
    done = wait_status(service, service.post("/scale", json={"spec": TINY_SPEC, "factor": 1, "profile": TINY_PROFILE}).json()["id"])
    memory = plan_memory(done["plan"], 2, "float32", False, "cpu")
    for mode in ("inference", "training"):
        assert done["result"][mode]["predicted_memory_bytes"] == memory[mode]["predicted_bytes"]
        assert done["result"][mode]["memory_ratio"] is None  # peak memory is measured on CUDA only
