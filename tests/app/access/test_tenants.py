"""Keys as tenants (issue 23), as the attack tried it: with two keys, B listed A's profiles, read
A's callback URL with its ?token=..., and cancelled A's job; A's DELETE cancelled B's request.
Real app, real Redis, a real worker and a real receiver."""

from __future__ import annotations

import logging

from service.access.auth import hash_key
from service.polling import wait_until
from tests.receiver import Receiver
from tests.service_helpers import CALLBACKS, TINY_PROFILE, TINY_SPEC, WorkerProcess, register_idle_worker

A, B, ADMIN = ("tenant-a-key-0123456789abcdef", "tenant-b-key-0123456789abcdef", "tenant-admin-key-0123456789ab")
QUICK = {**TINY_PROFILE, "device": "cpu-test", "modes": ["inference"], "time_budget_s": 0.3}


def keyed(key: str) -> dict:
    return {"X-API-Key": key}


def service(service_with, **extra):
    return service_with(api_key_hashes=[hash_key(A), hash_key(B)], admin_key_hashes=[hash_key(ADMIN)],
                        **CALLBACKS, **extra)


def scale(api, key: str, url: str | None = None, factor: float = 2, **extra) -> dict:
    body = {"spec": TINY_SPEC, "factor": factor, "profile": QUICK, **({"callback_url": url} if url else {}), **extra}
    r = api.post("/scale", json=body, headers=keyed(key))
    assert r.status_code in (200, 202), r.text
    return r.json()


def test_a_key_sees_and_cancels_only_its_own_submissions(service_with):
    api = service(service_with)
    register_idle_worker(api.settings, "cpu-test")
    with Receiver() as rx:
        a = scale(api, A, rx.url + "/a?token=secret-of-a")["id"]
        b_own = scale(api, B, factor=3)["id"]
        assert [i["id"] for i in api.get("/profiles", headers=keyed(B)).json()["items"]] == [b_own]
        assert [i["id"] for i in api.get("/profiles", headers=keyed(A)).json()["items"]] == [a]
        for method, path in (("GET", f"/profile/{a}"), ("GET", f"/profile/{a}/config.yaml"),
                             ("GET", f"/profile/{a}/events"), ("DELETE", f"/profile/{a}")):
            r = api.request(method, path, headers=keyed(B))
            assert r.status_code == 404, (method, path, r.status_code)  # as if there were none
        assert api.get(f"/profile/{a}", headers=keyed(A)).json()["status"] == "queued"  # B cancelled nothing
        everyone = {i["id"] for i in api.get("/profiles", headers=keyed(ADMIN)).json()["items"]}
        assert everyone == {a, b_own}


def test_a_shared_profile_stays_shared_but_each_key_sees_its_own_callbacks_and_delete(service_with, caplog):
    api = service(service_with)
    register_idle_worker(api.settings, "cpu-test")
    caplog.set_level(logging.DEBUG)
    with Receiver(statuses=[500]) as rx:
        pid = scale(api, A, rx.url + "/a?token=secret-of-a")["id"]
        assert scale(api, B, rx.url + "/b?token=secret-of-b")["id"] == pid  # identical: one profile
        withdrawn = api.delete(f"/profile/{pid}", headers=keyed(A))
        assert withdrawn.status_code == 200 and withdrawn.json()["withdrawn"] is True
        assert api.get(f"/profile/{pid}", headers=keyed(B)).json()["status"] == "queued"  # B still waits
        WorkerProcess(api.settings, burst=True).proc.wait(120)
        wait_until(lambda: rx.received("/b?token=secret-of-b"), lambda got: len(got) >= 2, 60, what="B's retry")
        seen_by_b = wait_until(lambda: api.get(f"/profile/{pid}", headers=keyed(B)).json(),
                               lambda r: len(r.get("callbacks") or []) >= 2, 30)
        assert rx.received("/a?token=secret-of-a") == []  # A withdrew: A is not told
    assert seen_by_b["status"] == "finished"
    assert {a["url"] for a in seen_by_b["callbacks"]} == {rx.url + "/b?token=secret-of-b"}
    assert "callbacks" not in api.get(f"/profile/{pid}", headers=keyed(A)).json() or \
        api.get(f"/profile/{pid}", headers=keyed(A)).json()["callbacks"] == []
    assert [i["id"] for i in api.get("/profiles", headers=keyed(A)).json()["items"]] == [pid]  # still A's result
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "secret-of-b" not in logged and "secret-of-a" not in logged, logged[-2000:]


def test_the_last_key_waiting_cancels_and_only_it_is_told(service_with):
    api = service(service_with)
    register_idle_worker(api.settings, "cpu-test")
    with Receiver() as rx:
        pid = scale(api, A, rx.url + "/a?token=secret-of-a")["id"]
        assert scale(api, B, rx.url + "/b")["id"] == pid
        assert api.delete(f"/profile/{pid}", headers=keyed(B)).json()["withdrawn"] is True
        r = api.delete(f"/profile/{pid}", headers=keyed(A))
        assert r.status_code == 200 and r.json()["status"] == "cancelled"
        [told] = wait_until(rx.received, bool, 30, what="A's callback")
        seen_by_a = wait_until(lambda: api.get(f"/profile/{pid}", headers=keyed(A)).json(),
                               lambda d: d.get("callbacks"), 30)
        seen_by_b = api.get(f"/profile/{pid}", headers=keyed(B)).json()
    assert told["path"] == "/a?token=secret-of-a" and told["headers"]["X-Fastscale-Event"] == "profile.cancelled"
    assert [x["url"] for x in seen_by_a["callbacks"]] == [rx.url + "/a?token=secret-of-a"]
    assert not seen_by_b.get("callbacks") and "secret-of-a" not in str(seen_by_b)  # shared, but not A's URL


def test_sweeps_are_tenants_too(service_with):
    api = service(service_with)
    register_idle_worker(api.settings, "cpu-test")
    body = {"spec": TINY_SPEC, "strategies": ["w"], "factors": [2], "profile": QUICK}
    sid = api.post("/sweep", json=body, headers=keyed(A)).json()["id"]
    assert api.get(f"/sweep/{sid}", headers=keyed(B)).status_code == 404
    assert api.get("/sweeps", headers=keyed(B)).json()["items"] == []
    row = api.get(f"/sweep/{sid}", headers=keyed(A)).json()["rows"][0]["profile_id"]
    assert api.get(f"/profile/{row}", headers=keyed(A)).status_code == 200  # a sweep's rows are its key's too
    assert scale(api, B, strategy="w")["id"] == row  # B asks for the same measurement
    assert api.delete(f"/sweep/{sid}", headers=keyed(A)).json()["status"] == "cancelled"
    assert api.get(f"/profile/{row}", headers=keyed(B)).json()["status"] == "queued"  # B's request lives on


def test_a_recommendations_evidence_is_readable_by_its_key_only(service_with):
    import threading

    from tests.app.test_sweeps import planter

    api = service(service_with)
    register_idle_worker(api.settings, "cpu-test")
    stop = threading.Event()
    planter(api, lambda rec: {"w": 30.0, "dWr": 12.0}[rec["plan"]["strategy"]["name"]], stop)
    try:
        body = {"model": "RegNetY-400MF", "target_flops": 8e8, "mode": "inference", "candidates": ["w", "dWr"],
                "profile": QUICK}
        rid = api.post("/recommend", json=body, headers=keyed(A)).json()["id"]
        done = wait_until(lambda: api.get(f"/recommend/{rid}", headers=keyed(A)).json(),
                          lambda s: s["status"] != "running", 60, what="the recommendation")
    finally:
        stop.set()
    assert done["status"] == "finished", done
    evidence = {row["profile_id"] for row in done["evidence"]}
    assert evidence and all(api.get(f"/profile/{p}", headers=keyed(A)).status_code == 200 for p in evidence)
    assert api.get(f"/recommend/{rid}", headers=keyed(B)).status_code == 404
    assert all(api.get(f"/profile/{p}", headers=keyed(B)).status_code == 404 for p in evidence)
