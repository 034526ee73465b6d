"""Cancelling profiles, sweeps and recommendations (DELETE), queued and running, with real workers;
the record ends ``cancelled`` and its callback says so."""

from __future__ import annotations

import json

from service.polling import wait_until
from service.redis.queues import get_queue
from tests.receiver import Receiver
from tests.service_helpers import CALLBACKS, RUNS_ITS_BUDGET, TINY_PROFILE, TINY_SPEC, WorkerProcess, register_idle_worker, wait_done, wait_status

QUICK = {**TINY_PROFILE, "device": "cpu-test", "modes": ["inference"], "time_budget_s": 0.3}


def test_a_queued_profile_leaves_its_queue_and_ends_cancelled(service_with):
    api = service_with(**CALLBACKS)
    register_idle_worker(api.settings, "cpu-test")
    queue = get_queue(api.app.state.services.redis, api.settings.key_prefix, "cpu-test")
    with Receiver() as rx:
        pid = api.post("/scale", json={"spec": TINY_SPEC, "factor": 2, "profile": QUICK,
                                       "callback_url": rx.url + "/x"}).json()["id"]
        assert queue.count == 1
        r = api.delete(f"/profile/{pid}")
        assert r.status_code == 200 and r.json()["status"] == "cancelled"
        assert queue.count == 0
        [got] = wait_until(rx.received, bool, 30)
    assert got["headers"]["X-Fastscale-Event"] == "profile.cancelled"
    assert json.loads(got["body"])["error"]["type"] == "Cancelled"
    again = api.delete(f"/profile/{pid}")
    assert again.status_code == 409 and "already cancelled" in again.json()["detail"]
    assert api.get("/profiles", params={"status": "cancelled"}).json()["items"][0]["id"] == pid
    # Asking for it again measures it again (a new run), as after a failure.
    resubmitted = api.post("/scale", json={"spec": TINY_SPEC, "factor": 2, "profile": QUICK}).json()
    assert resubmitted["id"] == pid and api.get(f"/profile/{pid}").json()["run"] == 2


def test_a_running_profile_stops_at_its_next_iteration_check(service_with):
    service = service_with(**RUNS_ITS_BUDGET)  # still timing (up to its 30 s) when the cancel comes
    worker = WorkerProcess(service.settings).wait_registered()
    try:
        pid = service.post("/scale", json={"spec": TINY_SPEC, "factor": 2,
                                           "profile": {**QUICK, "time_budget_s": 30}}).json()["id"]
        wait_until(lambda: service.get(f"/profile/{pid}").json(), lambda r: "timing" in (r.get("progress") or {}).get("phase", ""), 60)
        r = service.delete(f"/profile/{pid}")
        assert r.status_code == 202 and r.json()["cancel_requested"] is True
        done = wait_status(service, pid, ("finished", "failed", "cancelled"), timeout=20)
        assert done["status"] == "cancelled" and "while running" in done["error"]["message"]
        assert worker.proc.poll() is None  # the worker lives on for the next job
        quick = service.post("/scale", json={"spec": TINY_SPEC, "factor": 3, "profile": QUICK}).json()["id"]
        assert wait_status(service, quick)["status"] == "finished"
    finally:
        worker.stop()


def test_a_sweep_is_cancelled_with_its_unfinished_rows(service_with):
    api = service_with(**CALLBACKS)
    register_idle_worker(api.settings, "cpu-test")
    with Receiver() as rx:
        sid = api.post("/sweep", json={"spec": TINY_SPEC, "strategies": ["w", "d"], "factors": [1, 2], "profile": QUICK,
                                       "callback_url": rx.url + "/s"}).json()["id"]
        r = api.delete(f"/sweep/{sid}")
        assert r.status_code == 200 and r.json()["status"] == "cancelled"
        assert {row["status"] for row in r.json()["rows"]} == {"cancelled"}
        [got] = wait_until(rx.received, bool, 30)
    assert got["headers"]["X-Fastscale-Event"] == "sweep.cancelled"
    assert api.get(f"/sweep/{sid}").json()["status"] == "cancelled"
    assert api.delete(f"/sweep/{sid}").status_code == 409
    assert [s["id"] for s in api.get("/sweeps", params={"status": "cancelled"}).json()["items"]] == [sid]


def test_a_running_recommendation_is_cancelled(service_with):
    api = service_with(**CALLBACKS)
    register_idle_worker(api.settings, "cpu-test")  # its profiles stay queued: it keeps waiting
    with Receiver() as rx:
        r = api.post("/recommend", json={"spec": TINY_SPEC, "target_flops": 2e6, "candidates": ["w", "d"],
                                         "mode": "inference", "profile": QUICK, "callback_url": rx.url + "/r"})
        rid = r.json()["id"]
        cancel = api.delete(f"/recommend/{rid}")
        assert cancel.status_code == 202 and cancel.json()["cancel_requested"] is True
        state = wait_done(api, f"/recommend/{rid}", 30, done=lambda s: s["status"] != "running")
        [got] = wait_until(rx.received, bool, 30)
    assert state["status"] == "cancelled" and state["error"]["type"] == "RecommendationCancelled"
    assert got["headers"]["X-Fastscale-Event"] == "recommendation.cancelled"
    listed = api.get("/recommendations", params={"status": "cancelled"}).json()["items"]
    assert [s["id"] for s in listed] == [rid]
