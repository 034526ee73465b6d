"""Issue 22, finding 1: no accepted job is stranded. Each fault is placed exactly where the finding
placed it, against its own redis-server (never the shared one) and real worker processes, and the
job then finishes once (one finished record, ``jobs_finished`` 1):

a. the worker takes the job (RQ moved it to its intermediate queue) and dies before marking it
   started: SIGSTOP while it blocks on the queue, POST, SIGKILL;
b. Redis dies between /scale's claim and its enqueue (now one transaction: killed after the claim's
   read, before its EXEC, at the ``store.claim.read`` fault point);
c. Redis dies between the reaper's re-queue and its enqueue (one transaction too: killed at
   ``store.requeue.read``).
"""

from __future__ import annotations

import signal
import threading
import time

import pytest
import redis as redis_lib

from service import faults
from service import polling as poll
from service.profiles.store import ProfileStore
from service.redis.queues import get_queue
from tests.service_helpers import RUNS_ITS_BUDGET, WorkerProcess, register_idle_worker, wait_status
from tests.system.resilience.test_faults import body, client_for, own_redis  # noqa: F401 - the fixture


@pytest.fixture(autouse=True)
def _disarmed():
    yield
    faults.disarm()


def finished_once(api, pid: str, attempt: int) -> dict:
    done = wait_status(api, pid, timeout=180)
    assert done["status"] == "finished" and done["attempt"] == attempt, done
    stats = ProfileStore(redis_lib.Redis.from_url(api.settings.redis_url), api.settings.key_prefix).stats()
    assert stats.get("jobs_finished") == 1
    return done


def blocked_on_queue(r: redis_lib.Redis) -> bool:
    return any(c.get("cmd") == "blmove" for c in r.client_list())


def test_a_worker_dying_after_taking_a_job_before_starting_it(own_redis):
    with client_for(own_redis, reconcile_interval_s=1.0) as api:
        r = own_redis.client()
        # A long dequeue timeout (TTL 60: RQ blocks TTL - 15 s) so the stopped worker's BLMOVE is pending.
        taker = WorkerProcess(api.settings, env={"FASTSCALE_WORKER_TTL_S": "60"}).wait_registered()
        poll.wait_until(lambda: blocked_on_queue(r), bool, 30, what="the worker blocking on its queue")
        taker.proc.send_signal(signal.SIGSTOP)
        pid = api.post("/scale", json=body()).json()["id"]
        queue = get_queue(r, api.settings.key_prefix, "cpu-test")
        poll.wait_until(lambda: r.llen(queue.intermediate_queue_key), bool, 10, what="the job taken")
        taker.proc.send_signal(signal.SIGKILL)
        taker.proc.wait(10)
        assert api.get(f"/profile/{pid}").json()["status"] == "queued" and queue.count == 0  # stranded, before
        fresh = WorkerProcess(api.settings).wait_registered()
        try:
            done = finished_once(api, pid, attempt=2)
        finally:
            fresh.stop()
        assert done["worker"].endswith(f".{fresh.proc.pid}")


def test_redis_dying_between_the_claim_and_its_enqueue(own_redis):
    with client_for(own_redis) as api:
        register_idle_worker(api.settings, "cpu-test")
        time.sleep(1.2)  # the class's seen mark reaches the AOF (fsync every second)
        faults.arm("store.claim.read", own_redis.kill)
        refused = api.post("/scale", json=body())
        assert refused.status_code == 503 and "not accepted" in refused.json()["detail"]
        own_redis.start()
        poll.wait_until(lambda: api.get("/readyz").status_code, lambda s: s == 200, 30)
        worker = WorkerProcess(api.settings).wait_registered()
        try:
            retried = api.post("/scale", json=body())  # the client's retry: accepted, and it runs
            assert retried.status_code == 202, retried.text
            finished_once(api, retried.json()["id"], attempt=1)
        finally:
            worker.stop()


def test_redis_dying_between_the_reapers_requeue_and_its_enqueue(own_redis):
    with client_for(own_redis, reap_interval_s=0.5, **RUNS_ITS_BUDGET) as api:
        first = WorkerProcess(api.settings).wait_registered()
        pid = api.post("/scale", json=body(time_budget_s=4)).json()["id"]
        poll.wait_until(lambda: api.get(f"/profile/{pid}").json()["status"], lambda s: s == "started", 60)
        time.sleep(1.2)  # "started" reaches the AOF
        killed = threading.Event()
        faults.arm("store.requeue.read", lambda: (own_redis.kill(), killed.set()))
        first.proc.send_signal(signal.SIGKILL)
        first.proc.wait(10)
        assert killed.wait(40)  # the lease expired; the reaper read the record and Redis died
        own_redis.start()
        second = WorkerProcess(api.settings).wait_registered()
        try:
            done = finished_once(api, pid, attempt=2)
        finally:
            second.stop()
        assert done["lost_workers"] and done["worker"].endswith(f".{second.proc.pid}")
