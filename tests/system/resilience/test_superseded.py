"""Issue 13, item 10, with real processes: a worker paused (SIGSTOP) past its lease while the
job is handed to a second worker, then resumed (SIGCONT), stops at its next progress report and
never touches the live attempt's lease or progress; the job finishes once, by attempt 2."""

from __future__ import annotations

import json
import signal
import time

import pytest
import redis as redis_lib
from fastapi.testclient import TestClient

from app.main import create_app
from service import polling
from service.redis.embedded import EmbeddedRedis, free_port
from service.redis.keys import Keys
from service.profiles.store import ProfileStore
from tests.service_helpers import TINY_SPEC, WorkerProcess, settings_for, wait_status

BODY = {"spec": TINY_SPEC, "factor": 2, "profile": {"device": "cpu-test", "batch_size": 2, "time_budget_s": 3}}


@pytest.fixture
def own_redis(tmp_path):
    server = EmbeddedRedis(tmp_path / "redis", port=free_port()).start()
    yield server
    server.stop()


def watch(client, keys: Keys, pid: str, seconds: float) -> list[tuple]:
    """(lease, progress attempt) every 50 ms for ``seconds``."""
    seen, deadline = [], time.monotonic() + seconds
    while time.monotonic() < deadline:
        lease, progress = client.mget(keys.lease(pid), keys.progress(pid))
        seen.append((lease.decode() if lease else None, json.loads(progress).get("attempt") if progress else None))
        time.sleep(0.05)
    return seen


def test_a_resumed_stale_attempt_stops_without_clobbering_the_live_one(own_redis):
    s = settings_for(own_redis.url, reap_interval_s=0.3)
    client, keys = redis_lib.Redis.from_url(own_redis.url), Keys(s.key_prefix)
    with TestClient(create_app(s)) as api:
        pair = [WorkerProcess(s), WorkerProcess(s)]  # both idle: whichever takes the job is "first"
        try:
            for w in pair:
                w.wait_registered(90)
            pid = api.post("/scale", json=BODY).json()["id"]
            polling.wait_until(lambda: json.loads(client.get(keys.progress(pid)) or "{}").get("phase", ""),
                               lambda phase: "timing" in phase, 90, what="first attempt timing")
            owner = api.get(f"/profile/{pid}").json()["worker"]
            first = next(w for w in pair if owner.endswith(f".{w.proc.pid}"))
            first.proc.send_signal(signal.SIGSTOP)
            taken = polling.wait_until(lambda: api.get(f"/profile/{pid}").json(),
                                       lambda r: r["status"] == "started" and r["attempt"] == 2, 60,
                                       what="attempt 2 started")
            live_lease = client.get(keys.lease(pid)).decode()
            assert live_lease.startswith("1:2:") and taken["worker"] in live_lease
            first.proc.send_signal(signal.SIGCONT)
            seen = watch(client, keys, pid, 4.0)
            done = wait_status(api, pid, timeout=90)
            assert first.proc.poll() is None  # the stale worker lived on
        finally:
            for w in pair:
                w.proc.send_signal(signal.SIGCONT)
            logs = [w.stop() for w in pair]
    running = [(lease, attempt) for lease, attempt in seen if lease is not None]
    assert all(lease == live_lease for lease, _ in running), sorted(set(seen))  # never overwritten
    assert all(attempt in (None, 2) for _, attempt in seen), sorted(set(seen))  # progress never clobbered
    assert done["status"] == "finished" and done["attempt"] == 2 and done["run"] == 1
    assert ProfileStore(client, s.key_prefix).stats().get("jobs_finished") == 1
    assert any("profile superseded" in log for log in logs)  # the stale attempt stopped itself
