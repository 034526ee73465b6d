"""The faults, each placed while the load runs. A scenario gets the started service and the running
load, injects its fault (and undoes it, as an operator or a process manager would), and returns the
moment of the fault; the runner then measures how long the service took to be ready again and to
bring every accepted job to a final state."""

from __future__ import annotations

import signal
import time

from rq import Worker
from rq.serializers import JSONSerializer

from bench.chaos.harness import Embedded, Separate, kill
from service.profiles.store import ProfileStore


def _store(svc) -> ProfileStore:
    return ProfileStore(svc.redis(), svc.prefix)


def _started_worker_pid(svc, timeout: float = 60) -> int:
    """The pid of a worker that is running a job now (from the started record's worker name)."""
    store, deadline = _store(svc), time.monotonic() + timeout
    while time.monotonic() < deadline:
        for raw in store.r.smembers(store.keys.started):
            rec = store.get(raw.decode())
            if rec and rec["status"] == "started" and rec.get("worker"):
                pids = [w.pid for w in Worker.all(connection=store.r, serializer=JSONSerializer) if w.name == rec["worker"]]
                if pids:
                    return pids[0]  # RQ's registry maps the record's worker name to its process
        time.sleep(0.05)
    raise TimeoutError("no job started")


def worker_sigkill_mid_job(svc: Separate, load) -> float:
    pid = _started_worker_pid(svc)
    assert pid in svc.workers(), (pid, svc.workers())
    kill(pid)
    return time.monotonic()


def worker_dies_holding_a_taken_job(svc: Separate, load) -> float:
    """SIGSTOP every idle worker (blocked on its queue), let jobs arrive (RQ hands them over), SIGKILL."""
    r = svc.redis()
    deadline = time.monotonic() + 60
    while sum(c.get("cmd") == "blmove" for c in r.client_list()) < len(svc.workers()) and time.monotonic() < deadline:
        time.sleep(0.1)
    pids = svc.workers()
    for pid in pids:
        kill(pid, signal.SIGSTOP)
    load.start()
    time.sleep(3)
    for pid in pids:
        kill(pid)
    return time.monotonic()


def worker_paused_past_its_lease(svc: Separate, load) -> float:
    pid = _started_worker_pid(svc)
    assert pid in svc.workers(), (pid, svc.workers())
    kill(pid, signal.SIGSTOP)
    at = time.monotonic()
    time.sleep(15)  # past the 10 s lease and the worker TTL: its job is handed to a new attempt
    kill(pid, signal.SIGCONT)
    return at


def api_sigkill(svc: Separate, load) -> float:
    time.sleep(2)
    svc.api.kill()
    at = time.monotonic()
    time.sleep(1)
    svc.start_api()
    return at


def redis_sigkill_separate(svc: Separate, load) -> float:
    time.sleep(2)
    svc.server.kill()
    at = time.monotonic()
    time.sleep(2)
    svc.server.start()  # as its process manager would
    return at


def redis_sigkill_embedded(svc: Embedded, load) -> float:
    time.sleep(2)
    kill(svc.redis_pid())  # `fastscale serve` restarts it by itself
    return time.monotonic()


def redis_out_of_memory(svc: Separate, load) -> float:
    time.sleep(2)
    r = svc.redis()
    r.config_set("maxmemory-policy", "noeviction")
    r.config_set("maxmemory", int(r.info("memory")["used_memory"]) // 2)
    at = time.monotonic()
    time.sleep(5)
    r.config_set("maxmemory", 0)
    return at


# name -> (setup, fault, extra environment); the load starts before the fault unless the fault starts it.
SCENARIOS = {
    "worker SIGKILL mid-job": (Separate, worker_sigkill_mid_job, {}),
    "worker dies holding a taken job": (Separate, worker_dies_holding_a_taken_job, {"FASTSCALE_WORKER_TTL_S": "60"}),
    "worker paused 15 s": (Separate, worker_paused_past_its_lease, {}),
    "API SIGKILL + restart": (Separate, api_sigkill, {}),
    "redis-server SIGKILL (separate)": (Separate, redis_sigkill_separate, {}),
    "redis-server SIGKILL (embedded)": (Embedded, redis_sigkill_embedded, {}),
    "Redis at maxmemory 5 s": (Separate, redis_out_of_memory, {}),
}
STARTS_LOAD = {worker_dies_holding_a_taken_job}
