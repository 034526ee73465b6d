"""Completion callbacks end to end: real Redis, real workers, a real HTTP receiver on loopback."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

from service.notify.callbacks import host_refusal, sign
from service.polling import wait_until
from tests.receiver import Receiver
from tests.service_helpers import CALLBACKS, TINY_PROFILE, TINY_SPEC, WorkerProcess, register_idle_worker, wait_status
from tests.load import scaled

QUICK = {**TINY_PROFILE, "device": "cpu-test", "modes": ["inference"], "time_budget_s": 0.3}


def scale(api, url: str | None, **profile) -> dict:
    body = {"spec": TINY_SPEC, "factor": 2, "profile": {**QUICK, **profile}}
    if url:
        body["callback_url"] = url
    r = api.post("/scale", json=body)
    assert r.status_code in (200, 202), r.text
    return r.json()


def delivered(receiver: Receiver, n: int, path: str | None = None, timeout: float = 60) -> list[dict]:
    return wait_until(lambda: receiver.received(path), lambda got: len(got) >= n, timeout, what=f"{n} callback(s)")


def test_callback_url_is_refused_with_422_when_off_or_not_allowed(service, service_with):
    body = {"spec": TINY_SPEC, "factor": 2, "profile": QUICK, "callback_url": "http://127.0.0.1:9/x"}
    off = service.post("/scale", json=body)
    assert off.status_code == 422 and off.json()["errors"][0]["field"] == "callback_url"
    assert "callbacks are off" in off.json()["detail"]
    api = service_with(**CALLBACKS)
    for url, words in (("http://10.1.2.3/hook", "not allowed"), ("ftp://127.0.0.1/x", "http or https"),
                       ("http://user:pw@127.0.0.1/x", "credentials"), ("http://no-such-host.invalid/x", "does not resolve")):
        r = api.post("/sweep", json={"spec": TINY_SPEC, "strategies": ["w"], "factors": [1], "profile": QUICK,
                                     "callback_url": url})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "callback_url", (url, r.text)
        assert words in r.json()["detail"], (url, r.json()["detail"])
    assert api.get("/profiles").json()["items"] == []  # refused before anything was queued


def test_names_are_checked_by_every_address_they_resolve_to():
    def resolver(*addresses):
        return lambda host, port: [(2, 1, 6, "", (a, 0)) for a in addresses]

    allowed = ["10.0.0.0/8", "hooks.internal"]
    assert host_refusal("hooks.internal", allowed, resolver("8.8.8.8")) is None  # named exactly: trusted
    assert host_refusal("a.example", allowed, resolver("10.1.1.1", "10.2.2.2")) is None
    assert "8.8.8.8" in host_refusal("b.example", allowed, resolver("10.1.1.1", "8.8.8.8"))
    assert host_refusal("10.9.9.9", allowed) is None and host_refusal("127.0.0.1", allowed)
    assert host_refusal("::1", ["::1/128"]) is None


def test_delivery_is_signed_and_recorded_on_the_document(service_with):
    api = service_with(**CALLBACKS)
    with Receiver() as rx:
        worker = WorkerProcess(api.settings).wait_registered()
        try:
            pid = scale(api, rx.url + "/hook")["id"]
            [got] = delivered(rx, 1)
        finally:
            worker.stop()
        body, headers = got["body"], got["headers"]
        # Signed over "<timestamp>.<delivery>.<body>" (issue 23: the id and the time were unsigned).
        stamp, did = headers["X-Fastscale-Timestamp"], headers["X-Fastscale-Delivery"]
        message = f"{stamp}.{did}.".encode() + body
        expected = "sha256=" + hmac.new(b"s3cret-for-tests", message, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(headers["X-Fastscale-Signature"], expected)
        assert abs(int(stamp) - time.time()) < 120
        assert sign("another secret", body, stamp, did) != expected
        assert sign("s3cret-for-tests", body, int(stamp) + 1, did) != expected
        assert got["headers"]["X-Fastscale-Event"] == "profile.finished"
        assert len(got["headers"]["X-Fastscale-Delivery"]) == 32
        document = json.loads(body)
        assert document["id"] == pid and document["status"] == "finished" and document["result"]["inference"]["median_ms"] > 0
        record = wait_until(lambda: api.get(f"/profile/{pid}").json(), lambda r: r.get("callbacks"), 10)
        [attempt] = record["callbacks"]
        assert attempt["status"] == 200 and attempt["error"] is None and attempt["at"]


def test_a_receiver_failing_twice_gets_the_same_delivery_a_third_time(service_with):
    api = service_with(**CALLBACKS)
    register_idle_worker(api.settings, "cpu-test")
    with Receiver(statuses=[500, 503]) as rx:
        pid = scale(api, rx.url + "/flaky")["id"]
        WorkerProcess(api.settings, burst=True).proc.wait(scaled(120))
        got = delivered(rx, 3)
        record = wait_until(lambda: api.get(f"/profile/{pid}").json(), lambda r: len(r.get("callbacks") or []) == 3, 10)
    assert len({g["headers"]["X-Fastscale-Delivery"] for g in got}) == 1  # one delivery, retried
    assert len({g["body"] for g in got}) == 1  # each attempt signs its own timestamp, over the same body
    for g in got:
        h = g["headers"]
        assert h["X-Fastscale-Signature"] == sign("s3cret-for-tests", g["body"], h["X-Fastscale-Timestamp"],
                                                  h["X-Fastscale-Delivery"])
    assert [a["status"] for a in record["callbacks"]] == [500, 503, 200]
    assert [a["error"] for a in record["callbacks"]] == ["HTTP 500", "HTTP 503", None]
    assert api.app.state.services.redis.zcard(api.settings.key_prefix + ":outbox:deliveries") == 0


def test_each_subscriber_of_a_shared_profile_gets_its_own_delivery(service_with):
    api = service_with(**CALLBACKS)
    register_idle_worker(api.settings, "cpu-test")
    with Receiver() as rx:
        first = scale(api, rx.url + "/a")
        assert scale(api, rx.url + "/b")["id"] == first["id"]  # identical request: one profile, deduped
        scale(api, rx.url + "/a")  # the same subscriber twice is one subscription
        WorkerProcess(api.settings, burst=True).proc.wait(scaled(120))
        delivered(rx, 2)
        cached = scale(api, rx.url + "/c")  # after the fact: the cached result is delivered at once
        assert cached["status"] == "finished" and cached["cached"] is True and cached["cached_age_s"] >= 0
        delivered(rx, 1, "/c")
        wait_until(lambda: api.get(f"/profile/{first['id']}").json(), lambda r: len(r.get("callbacks") or []) == 3, 10)
        by_path = {g["path"]: g for g in rx.received()}
        assert sorted(g["path"] for g in rx.received()) == ["/a", "/b", "/c"]
    ids = {g["headers"]["X-Fastscale-Delivery"] for g in by_path.values()}
    assert len(ids) == 3 and {json.loads(g["body"])["id"] for g in by_path.values()} == {first["id"]}


def test_redirects_are_not_followed(service_with):
    api = service_with(**CALLBACKS, callback_max_attempts=1)
    register_idle_worker(api.settings, "cpu-test")
    with Receiver(statuses=[302], redirect_to="/elsewhere") as rx:
        pid = scale(api, rx.url + "/moved")["id"]
        WorkerProcess(api.settings, burst=True).proc.wait(scaled(120))
        record = wait_until(lambda: api.get(f"/profile/{pid}").json(), lambda r: r.get("callbacks"), 60)
        assert [g["path"] for g in rx.received()] == ["/moved"]
    assert record["callbacks"][0]["status"] == 302 and "not followed" in record["callbacks"][0]["error"]


def test_a_sweep_calls_back_once_every_row_is_done(service_with):
    api = service_with(**CALLBACKS)
    with Receiver() as rx:
        worker = WorkerProcess(api.settings).wait_registered()
        try:
            r = api.post("/sweep", json={"spec": TINY_SPEC, "strategies": ["w"], "factors": [1, 2], "profile": QUICK,
                                         "callback_url": rx.url + "/sweep"})
            assert r.status_code == 202, r.text
            [got] = delivered(rx, 1, timeout=120)
        finally:
            worker.stop()
    assert got["headers"]["X-Fastscale-Event"] == "sweep.finished"
    document = json.loads(got["body"])
    assert document["id"] == r.json()["id"] and document["status"] == "finished" and document["done"] == 2
    assert "analysis" in document
    for row in document["rows"]:
        assert wait_status(api, row["profile_id"])["status"] == "finished"
