"""The service end to end, against real Redis servers and real worker processes."""

from __future__ import annotations

import json
import zlib

import redis
from rq import Queue
from rq.serializers import JSONSerializer

from service.redis.queues import enqueue_profile, get_queue, mark_seen
from tests.service_helpers import TINY_PROFILE, TINY_SPEC, WorkerProcess, register_idle_worker, wait_status
from tests.load import scaled


def scale_body(**extra) -> dict:
    return {"spec": TINY_SPEC, "strategy": "dWr", "factor": 2, "profile": dict(TINY_PROFILE), **extra}


def queue_of(service, device_class="cpu-test") -> Queue:
    return get_queue(redis.Redis.from_url(service.settings.redis_url), service.settings.key_prefix, device_class)


def test_submit_runs_to_finished_with_results(service, worker):
    r = service.post("/scale", json=scale_body())
    assert r.status_code == 202, r.text
    body = r.json()
    assert r.headers["location"] == f"/profile/{body['id']}" and body["links"]["self"] == r.headers["location"]
    assert body["plan"]["requested_factor"] == 2 and body["device_class"] == "cpu-test"
    done = wait_status(service, body["id"])
    assert done["status"] == "finished", done.get("error")
    result = done["result"]
    for mode in ("inference", "training"):
        m = result[mode]
        assert m["median_ms"] > 0 and m["throughput_per_s"] > 0 and m["n"] >= 1
        assert m["ci95_low_ms"] <= m["median_ms"] <= m["ci95_high_ms"]
        assert m["predicted_memory_bytes"] > 0
    assert result["device"]["kind"] == "cpu" and result["device"]["torch"]
    assert result["complexity"] == done["plan"]["complexity"]
    assert done["started_at"] and done["finished_at"] and done["error"] is None
    # The job ran inside the worker process itself (no forked work horse): CUDA-safe model.
    assert done["worker"].endswith(f".{worker.proc.pid}")


def test_identical_requests_dedupe_to_one_job(service):
    register_idle_worker(service.settings, "cpu-test")
    ids = {service.post("/scale", json=scale_body()).json()["id"] for _ in range(3)}
    assert len(ids) == 1
    assert queue_of(service).count == 1
    pid = ids.pop()
    assert service.get(f"/profile/{pid}").json()["status"] == "queued"
    # A different profile setting is a different measurement.
    other = service.post("/scale", json=scale_body(profile={**TINY_PROFILE, "batch_size": 3})).json()["id"]
    assert other != pid and queue_of(service).count == 2
    # A real worker drains both.
    w = WorkerProcess(service.settings, burst=True)
    w.proc.wait(scaled(120))
    assert wait_status(service, pid)["status"] == "finished"
    assert wait_status(service, other)["status"] == "finished"


def test_cache_hit_answers_200_and_enqueues_nothing(service, worker):
    pid = service.post("/scale", json=scale_body()).json()["id"]
    first = wait_status(service, pid)
    jobs_before = len(list(redis.Redis.from_url(service.settings.redis_url).scan_iter("rq:job:*")))
    again = service.post("/scale", json=scale_body())
    assert again.status_code == 200
    # Issue 24: a cached 200 says where the record lives, as a 202 does; a finished record links its config.
    assert again.headers["Location"] == f"/profile/{pid}"
    assert first["links"] == {"self": f"/profile/{pid}", "config": f"/profile/{pid}/config.yaml"}
    assert service.get(first["links"]["config"]).status_code == 200
    assert again.json()["result"] == first["result"] and again.json()["run"] == 1
    assert queue_of(service).count == 0
    assert len(list(redis.Redis.from_url(service.settings.redis_url).scan_iter("rq:job:*"))) == jobs_before
    # Equivalent request (same architecture via target flops) shares the cached measurement.
    target = first["plan"]["complexity"]["flops"]
    same = service.post("/scale", json={**scale_body(), "factor": None, "target_flops": target})
    assert same.status_code in (200, 202)
    metrics = service.get("/metrics").text
    assert 'fastscale_cache_lookups_total{result="hit"}' in metrics


def test_force_measures_again(service, worker):
    pid = service.post("/scale", json=scale_body()).json()["id"]
    first = wait_status(service, pid)
    r = service.post("/scale", json=scale_body(force=True))
    assert r.status_code == 202 and r.json()["id"] == pid
    second = wait_status(service, pid)
    assert second["status"] == "finished" and second["run"] == 2
    assert second["started_at"] > first["finished_at"]
    assert second["result"] != first["result"]  # fresh timings, not the cached copy


def test_job_that_raises_ends_failed_with_its_message(service, worker):
    """A job whose plan was tampered with in Redis is refused by the worker, with the reason."""
    body = service.post("/plan", json={"spec": TINY_SPEC, "factor": 2}).json()
    tampered = json.loads(json.dumps(body))
    tampered["complexity"]["flops"] += 1
    store_client = redis.Redis.from_url(service.settings.redis_url)
    from service.profiles.store import ProfileStore

    store = ProfileStore(store_client, service.settings.key_prefix)
    pid = "f" * 32
    record, enqueue = store.claim(pid, {"plan": tampered, "profile": TINY_PROFILE, "device_class": "cpu-test"}, False)
    assert enqueue
    profile = {"batch_size": 2, "modes": ["inference"], "dtype": "float32", "channels_last": False, "time_budget_s": 0.5}
    enqueue_profile(store_client, service.settings.key_prefix,
                    {"id": pid, "run": 1, "attempt": 1, "plan": tampered, "profile": profile, "device_class": "cpu-test"},
                    timeout=60, result_ttl=60, failure_ttl=60)
    failed = wait_status(service, pid)
    assert failed["status"] == "failed"
    assert failed["error"]["type"] == "ScalingError"
    assert "plan.complexity" in failed["error"]["message"] and "does not match" in failed["error"]["message"]
    # The worker goes on serving.
    ok = service.post("/scale", json=scale_body()).json()["id"]
    assert wait_status(service, ok)["status"] == "finished"


def test_queue_uses_json_serializer_and_jobs_carry_data_only(service):
    register_idle_worker(service.settings, "cpu-test")
    service.post("/scale", json=scale_body())
    q = queue_of(service)
    job = q.jobs[0]
    assert q.serializer is JSONSerializer or q.serializer.__name__ == "JSONSerializer"
    assert job.func_name == "workers.job.profile_job"
    raw = redis.Redis.from_url(service.settings.redis_url).hget(f"rq:job:{job.id}", "data")
    payload = json.loads(zlib.decompress(raw).decode())  # RQ compresses; inside is plain JSON, not a pickle
    func, _instance, args, kwargs = payload
    assert func == "workers.job.profile_job" and kwargs == {}
    assert set(args[0]) >= {"id", "run", "plan", "profile", "device_class"}
    assert args[0]["plan"]["arch"]["family"] == "anynet" and args[0]["profile"]["batch_size"] == 2


def test_a_job_for_a_device_seen_lately_is_queued_and_waits(service):
    """Issue 22, finding 7 (was 503 under issue 13): its worker is restarting; the job waits for it."""
    mark_seen(redis.Redis.from_url(service.settings.redis_url), service.settings.key_prefix, ["cuda-a100"])
    r = service.post("/scale", json=scale_body(profile={**TINY_PROFILE, "device": "cuda"}))
    assert r.status_code == 202 and r.json()["device_class"] == "cuda-a100" and r.json()["status"] == "queued"
    assert get_queue(redis.Redis.from_url(service.settings.redis_url), service.settings.key_prefix, "cuda-a100").count == 1


def test_explicit_device_class_without_a_live_worker(service):
    """Never seen: 422 naming the classes that exist (a 503 sent clients honouring Retry-After into a
    loop); seen lately: queued (202), waiting for its worker (issue 22)."""
    register_idle_worker(service.settings, "cpu-test")
    body = scale_body(profile={**TINY_PROFILE, "device": "cuda-imaginary-gpu"})
    r = service.post("/scale", json=body)
    assert r.status_code == 422 and "retry-after" not in r.headers
    problem = r.json()
    assert problem["errors"][0]["field"] == "profile.device"
    assert "cpu-test" in problem["errors"][0]["allowed"]  # the live classes, so the client can pick one
    mark_seen(redis.Redis.from_url(service.settings.redis_url), service.settings.key_prefix, ["cuda-imaginary-gpu"])
    r = service.post("/scale", json=body)
    assert r.status_code == 202 and r.json()["device_class"] == "cuda-imaginary-gpu"


def test_unknown_profile_is_404(service):
    assert service.get("/profile/" + "0" * 32).status_code == 404
    assert service.get("/profile/..%2F..%2Fetc").status_code == 404


def test_catalog_and_ops(service):
    models = service.get("/models").json()
    assert len(models) == 44  # the paper's 36 and ConvNeXt-T/S/B/L, ViT-Ti/S/B/L
    one = service.get("/models/regnety_400mf").json()
    assert one["name"] == "RegNetY-400MF" and one["anynet"]["family"] == "anynet"
    assert service.get("/models/nope").status_code == 422
    assert {s["name"] for s in service.get("/strategies").json()["named"]} >= {"dWr", "dwr", "d"}
    assert service.get("/healthz").json() == {"status": "ok"}
    ready = service.get("/readyz")
    assert ready.status_code == 200 and ready.json()["redis"] == "ok"
    assert "fastscale_http_requests_total" in service.get("/metrics").text
