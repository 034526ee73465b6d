"""At-least-once callbacks across process deaths: the API (uvicorn, SIGKILL) and the worker
(SIGKILL) both die between the result and its delivery; the callback still arrives, exactly once,
when API processes come back, even two of them at once (the outbox claims each delivery)."""

from __future__ import annotations

import time

import redis as redis_lib

from service.redis.embedded import free_port
from service.polling import wait_until
from service.profiles.store import ProfileStore
from tests.receiver import Receiver
from tests.service_helpers import TINY_PROFILE, TINY_SPEC, ApiProcess, WorkerProcess, settings_for
from tests.load import scaled

ENV = {"FASTSCALE_CALLBACK_ALLOWED_HOSTS": "127.0.0.1/32", "FASTSCALE_CALLBACK_SECRET": "restart-secret",
       "FASTSCALE_OUTBOX_POLL_S": "0.1", "FASTSCALE_REAP_INTERVAL_S": "0.5"}


def test_callback_survives_api_and_worker_deaths_and_arrives_exactly_once(redis_url):
    import httpx

    settings = settings_for(redis_url)
    store = ProfileStore(redis_lib.Redis.from_url(redis_url), settings.key_prefix)
    api = ApiProcess(settings, free_port(), ENV).wait_ready()
    worker = WorkerProcess(settings).wait_registered()
    later: list[ApiProcess] = []
    with Receiver() as rx:
        try:
            body = {"spec": TINY_SPEC, "factor": 2, "callback_url": rx.url + "/done",
                    "profile": {**TINY_PROFILE, "device": "cpu-test", "modes": ["inference"], "time_budget_s": 2}}
            pid = httpx.post(api.url + "/scale", json=body, timeout=10).json()["id"]
            wait_until(lambda: store.get(pid)["status"], lambda s: s == "started", 60, what="job start")
            api.kill()  # no API process is left to deliver anything
            wait_until(lambda: store.get(pid)["status"], lambda s: s == "finished", 60, what="result")
            worker.proc.kill()  # and the worker that wrote the result dies too
            worker.proc.wait(scaled(10))
            time.sleep(1.0)
            assert rx.received() == []
            later = [ApiProcess(settings, free_port(), ENV).wait_ready() for _ in range(2)]
            [got] = wait_until(rx.received, bool, 30, what="the callback after the restart")
            time.sleep(3.0)  # both processes' outbox loops have run many rounds by now
            assert len(rx.received()) == 1, rx.received()
        finally:
            for process in [api, *later]:
                process.stop()
            worker.stop()
    assert got["headers"]["X-Fastscale-Event"] == "profile.finished"
    record = store.get(pid)
    assert [a["status"] for a in record["callbacks"]] == [200]
    for key in store.r.scan_iter(f"{settings.key_prefix}:*"):
        store.r.delete(key)
