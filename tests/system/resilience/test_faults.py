"""Injected faults against real processes: each test runs its own Redis server on a free port
(never the machine's shared one) and real worker processes."""

from __future__ import annotations

import signal
import subprocess
import time

import pytest
import redis as redis_lib
from fastapi.testclient import TestClient

from app.main import create_app
from service import polling as poll
from service.redis.embedded import EmbeddedRedis, free_port
from service.profiles.store import ProfileStore
from tests.service_helpers import (
    RUNS_ITS_BUDGET, TINY_PROFILE, TINY_SPEC, Supervised, WorkerProcess, register_idle_worker, settings_for, wait_status,
)
from workers.job import EXIT_RECYCLE
from tests.load import scaled


@pytest.fixture
def own_redis(tmp_path):
    server = EmbeddedRedis(tmp_path / "redis", port=free_port()).start()
    yield server
    server.stop()


def client_for(server, **settings):
    s = settings_for(server.url, **settings)
    c = TestClient(create_app(s))
    c.settings = s
    return c


def body(**profile):
    return {"spec": TINY_SPEC, "factor": 2, "profile": {**TINY_PROFILE, "device": "cpu-test", **profile}}


def wait_until(fn, timeout=30.0, every=0.1):
    return poll.wait_until(fn, bool, scaled(timeout), every)


def test_redis_outage_answers_503_then_recovers_and_loses_no_accepted_job(own_redis):
    with client_for(own_redis) as api:
        register_idle_worker(api.settings, "cpu-test")
        accepted = api.post("/scale", json=body()).json()["id"]
        time.sleep(1.2)  # AOF fsync is every second
        own_redis.stop()
        for method, path, payload in (("post", "/scale", body(batch_size=3)), ("get", f"/profile/{accepted}", None),
                                      ("post", "/plan", {"spec": TINY_SPEC, "factor": 2, "rounding": "pycls", "strategy": "dw"})):
            r = getattr(api, method)(path, json=payload) if payload else getattr(api, method)(path)
            if path == "/plan":
                assert r.status_code == 200  # the analytic answer needs no Redis
                continue
            assert r.status_code == 503, r.text
            assert "Redis is unreachable" in r.json()["detail"] and "Traceback" not in r.text
            assert r.headers["retry-after"]
        assert api.get("/readyz").status_code == 503
        assert api.get("/healthz").status_code == 200
        own_redis.start()
        # Everything recovers by itself, and the job accepted before the outage is still there.
        wait_until(lambda: api.get("/readyz").status_code == 200)
        assert api.get(f"/profile/{accepted}").json()["status"] == "queued"
        register_idle_worker(api.settings, "cpu-test")
        assert api.post("/scale", json=body(batch_size=3)).status_code == 202
        worker = WorkerProcess(api.settings, burst=True)
        worker.proc.wait(scaled(120))
        assert wait_status(api, accepted)["status"] == "finished"


def test_worker_keeps_running_through_a_redis_restart(own_redis):
    with client_for(own_redis) as api:
        worker = WorkerProcess(api.settings).wait_registered()
        try:
            own_redis.stop()
            time.sleep(2)
            own_redis.start()
            wait_until(lambda: api.get("/readyz").status_code == 200 and api.get("/readyz").json()["workers"], 60)
            pid = api.post("/scale", json=body()).json()["id"]
            assert wait_status(api, pid, timeout=120)["status"] == "finished"
            assert worker.proc.poll() is None
        finally:
            worker.stop()


def _children(pid: int) -> list[str]:
    return subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()


def test_sigkilled_worker_job_is_requeued_and_finished_once_by_a_fresh_worker(own_redis):
    with client_for(own_redis, reap_interval_s=0.5, **RUNS_ITS_BUDGET) as api:
        first = WorkerProcess(api.settings).wait_registered()
        # 4 s per mode: long enough that the kill lands mid-job (it follows "started" within a
        # poll), short enough that the second attempt does not spend a minute of CI re-measuring.
        pid = api.post("/scale", json=body(time_budget_s=4)).json()["id"]
        wait_until(lambda: api.get(f"/profile/{pid}").json()["status"] == "started", 60)
        assert _children(first.proc.pid) == []  # the job runs in the worker itself: nothing else to orphan
        first.proc.send_signal(signal.SIGKILL)
        first.proc.wait(scaled(10))
        killed_at = time.monotonic()
        requeued = wait_until(lambda: (r := api.get(f"/profile/{pid}").json())["status"] == "queued" and r, 40)
        assert time.monotonic() - killed_at < 30  # detected in seconds, not RQ's ten minutes
        assert requeued["attempt"] == 2 and requeued["lost_workers"]
        second = WorkerProcess(api.settings).wait_registered()
        try:
            done = wait_status(api, pid, timeout=180)
        finally:
            second.stop()
        assert done["status"] == "finished" and done["attempt"] == 2 and done["run"] == 1
        assert done["worker"].endswith(f".{second.proc.pid}")
        stats = ProfileStore(redis_lib.Redis.from_url(api.settings.redis_url), api.settings.key_prefix).stats()
        assert stats.get("jobs_finished") == 1  # written exactly once


def test_a_job_whose_worker_keeps_dying_fails_after_bounded_attempts(own_redis):
    with client_for(own_redis, reap_interval_s=0.5, max_attempts=1, **RUNS_ITS_BUDGET) as api:
        w = WorkerProcess(api.settings).wait_registered()
        pid = api.post("/scale", json=body(time_budget_s=4)).json()["id"]
        wait_until(lambda: api.get(f"/profile/{pid}").json()["status"] == "started", 60)
        w.proc.send_signal(signal.SIGKILL)
        w.proc.wait(scaled(10))
        failed = wait_status(api, pid, timeout=40)
        assert failed["status"] == "failed" and failed["error"]["type"] == "WorkerLost"
        assert "lost 1 time" in failed["error"]["message"]


def test_job_timeout_fails_clearly_and_a_fresh_worker_serves_the_next_job(own_redis):
    """Issue 13, item 9: the worker imports torch and warms up before its first job, so the
    timeout lands in the measurement; then the worker exits and the supervisor starts a fresh one
    (a process interrupted mid-job is not trusted with another)."""
    with client_for(own_redis, job_timeout_s=2) as api:
        workers = Supervised(api.settings).wait_registered()
        try:
            first = workers.proc
            # ResNet-50 at twice its flops, batch 16, training: seconds per step on any CPU, so the
            # 2 s limit lands in the measurement however fast the machine (a tiny spec could finish in 1.9 s)
            heavy = {"model": "ResNet-50", "factor": 2, "profile": {**TINY_PROFILE, "device": "cpu-test",
                     "batch_size": 16, "modes": ["training"], "time_budget_s": 10}}
            slow = api.post("/scale", json=heavy).json()["id"]
            failed = wait_status(api, slow, timeout=60)
            assert failed["status"] == "failed" and failed["error"]["type"] == "JobTimeout"
            assert "2 s limit" in failed["error"]["message"] and "FASTSCALE_JOB_TIMEOUT_S" in failed["error"]["message"]
            assert first.wait(scaled(30)) == EXIT_RECYCLE  # it asked to be replaced
            wait_until(lambda: workers.proc is not first, 30)
            workers.wait_registered()
            quick = api.post("/scale", json=body(time_budget_s=0.3, modes=["inference"])).json()["id"]
            done = wait_status(api, quick, timeout=90)
            assert done["status"] == "finished", done.get("error")
            assert workers.proc.pid != first.pid and done["worker"] != failed["worker"]  # a fresh process
        finally:
            workers.stop()


@pytest.mark.parametrize("how", ["shutdown", "sigkill"])
def test_finished_results_survive_a_redis_restart_with_aof(own_redis, how):
    with client_for(own_redis) as api:
        w = WorkerProcess(api.settings).wait_registered()
        try:
            pid = api.post("/scale", json=body()).json()["id"]
            before = wait_status(api, pid)
        finally:
            w.stop()
        time.sleep(1.5)  # appendfsync everysec
        own_redis.stop() if how == "shutdown" else own_redis.kill()
        own_redis.start()
        wait_until(lambda: api.get("/readyz").status_code == 200)
        after = api.get(f"/profile/{pid}").json()
        assert after["status"] == "finished" and after["result"] == before["result"]
        again = api.post("/scale", json=body())
        assert again.status_code == 200  # still a cache hit

