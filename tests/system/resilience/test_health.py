"""Issue 22, finding 4: health tells the same story as the writes. Each test runs its own
redis-server on a free port and drives it into the fault: maxmemory reached, persistence failing
(an RDB save that cannot write), a worker that stops heartbeating."""

from __future__ import annotations

import signal
import time

import pytest
import redis as redis_lib

from service import polling as poll
from service.redis.embedded import EmbeddedRedis, free_port
from service.redis.keys import Keys
from tests.service_helpers import RUNS_ITS_BUDGET, WorkerProcess, register_idle_worker, scaled
from tests.system.resilience.test_faults import body, client_for


@pytest.fixture
def own_redis(tmp_path):
    server = EmbeddedRedis(tmp_path / "redis", port=free_port(), appendonly=False).start()
    yield server
    server.stop()


def test_out_of_memory_is_named_in_readyz_and_in_the_503(own_redis):
    r = own_redis.client()
    with client_for(own_redis) as api:
        register_idle_worker(api.settings, "cpu-test")
        assert api.get("/readyz").status_code == 200
        r.config_set("maxmemory-policy", "noeviction")
        # Well under what is used (at the very edge, used memory wobbles around the limit as clients
        # come and go, and a write may pass): every write is refused, reads and PING still answer.
        r.config_set("maxmemory", int(r.info("memory")["used_memory"]) // 2)
        with pytest.raises(redis_lib.exceptions.OutOfMemoryError):
            r.set("filler", "x" * 4096)
        assert r.ping()  # Redis answers: a PING-only readiness said "ready, redis ok" here
        ready = api.get("/readyz")
        assert ready.status_code == 503 and ready.json()["cause"] == "out of memory", ready.text
        posted = api.post("/scale", json=body())
        assert posted.status_code == 503 and "out of memory" in posted.json()["detail"], posted.text
        assert posted.headers["retry-after"]
        r.config_set("maxmemory", 0)
        assert api.get("/readyz").status_code == 200


def test_persistence_failing_is_named_in_readyz_and_in_the_503(own_redis, tmp_path):
    r = own_redis.client()
    gone = tmp_path / "gone"
    gone.mkdir()
    with client_for(own_redis) as api:
        register_idle_worker(api.settings, "cpu-test")
        r.config_set("dir", str(gone))
        r.config_set("save", "3600 1")
        gone.rmdir()  # the disk the RDB goes to is no longer writable (as a full disk)
        r.bgsave()
        poll.wait_until(lambda: r.info("persistence")["rdb_last_bgsave_status"], lambda s: s == "err", 20)
        ready = api.get("/readyz")
        assert ready.status_code == 503 and ready.json()["cause"] == "persistence failing", ready.text
        posted = api.post("/scale", json=body())
        assert posted.status_code == 503 and "persistence is failing" in posted.json()["detail"], posted.text
        gone.mkdir()
        r.config_set("dir", str(gone))  # the disk is back
        r.bgsave()
        poll.wait_until(lambda: api.get("/readyz").status_code, lambda s: s == 200, 20)


def test_a_killed_worker_is_gone_from_readyz_after_the_worker_ttl_and_a_busy_one_stays(own_redis):
    # Each mode times to its whole 8 s budget (RUNS_ITS_BUDGET), so the job is busy past the TTL.
    with client_for(own_redis, worker_ttl_s=10, **RUNS_ITS_BUDGET) as api:
        worker = WorkerProcess(api.settings).wait_registered()
        try:
            pid = api.post("/scale", json=body(time_budget_s=8)).json()["id"]  # ~16 s of timing: past the TTL
            poll.wait_until(lambda: api.get(f"/profile/{pid}").json()["status"], lambda s: s == "started", 60)
            seen, began = [], time.monotonic()
            while api.get(f"/profile/{pid}").json()["status"] == "started":
                seen.append(api.get("/readyz").json()["workers"].get("cpu-test", 0))
                time.sleep(0.5)
            busy_s = time.monotonic() - began
            assert busy_s > 10 and min(seen) == 1, (busy_s, seen)  # busy past the TTL, still live (the beat thread)
            worker.proc.send_signal(signal.SIGKILL)
            worker.proc.wait(10)
            killed = time.monotonic()
            poll.wait_until(lambda: api.get("/readyz").json()["workers"].get("cpu-test", 0), lambda n: n == 0, 40)
            assert time.monotonic() - killed <= 10 + 10  # the TTL, plus the last beat's age and slow polls
        finally:
            worker.stop()


def test_a_worker_waits_out_redis_at_maxmemory_in_the_same_process(own_redis):
    """Finding 5: every heartbeat failed with OOM, RQ's loop quit, and the worker was restarted
    (14 restarts, each re-importing torch). Now it waits in the same process and then serves."""
    with client_for(own_redis, worker_ttl_s=10) as api:
        worker = WorkerProcess(api.settings).wait_registered()
        try:
            r = own_redis.client()
            r.config_set("maxmemory-policy", "noeviction")
            r.config_set("maxmemory", int(r.info("memory")["used_memory"]) // 2)
            time.sleep(6)  # several of its heartbeats (every second at this TTL) are refused
            r.config_set("maxmemory", 0)
            pid = api.post("/scale", json=body()).json()["id"]
            done = poll.wait_until(lambda: api.get(f"/profile/{pid}").json(),
                                   lambda b: b["status"] in ("finished", "failed"), 90)
            assert done["status"] == "finished" and done["worker"].split(".")[-1] == str(worker.proc.pid)
            assert worker.proc.poll() is None
        finally:
            out = worker.stop()
        assert "retrying in" in out  # it did meet the errors, and waited


def test_a_cold_shutdown_while_an_idle_worker_leaves_still_clears_its_heartbeat_and_entries(own_redis, tmp_path):
    """CI, stop 27: `worker --check` said ok for a worker that was gone. The test helper's second
    SIGTERM (3 s after the first, RQ's cold shutdown) came while the idle worker was still leaving
    (RQ's teardown, slow on a loaded 2-core machine) and raised SystemExit out of the worker loop
    before ``main`` knew its worker, so the clean-up left the heartbeat file and the published
    implementations behind. Redis paused for writes holds the teardown open here, so the second
    signal lands in it every time."""
    beats, r = tmp_path / "beats", own_redis.client()
    with client_for(own_redis) as api:
        worker = WorkerProcess(api.settings, env={"FASTSCALE_WORKER_HEARTBEAT_DIR": str(beats)}).wait_registered(90)
        try:
            poll.wait_until(lambda: list(beats.glob("*")), bool, scaled(30))  # its first beat is written
            [name] = worker.rq_names()
            implementations = Keys(api.settings.key_prefix).implementations
            assert r.hexists(implementations, name)
            r.execute_command("CLIENT", "PAUSE", 6000, "WRITE")  # RQ's register_death waits on it
            worker.proc.terminate()
            time.sleep(1.5)  # RQ takes a second signal within 1 s of the first for the same one
            worker.proc.terminate()
            worker.proc.wait(scaled(60))
        finally:
            log = worker.stop()
        assert "cold shut down" in log, log
        assert not list(beats.glob("*")), log  # `worker --check` no longer says ok
        assert not r.hexists(implementations, name), log
        assert not worker.rq_names(), log
