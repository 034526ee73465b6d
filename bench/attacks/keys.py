"""Attacks on keys (issue 23, findings 4 and 5): guessing, and two keys that are tenants."""

from __future__ import annotations

import time
from collections import Counter

import httpx

from bench.attacks.delivery import PROFILE, SPEC
from bench.attacks.harness import KEY_A, KEY_B, Target
from bench.attacks.receivers import Receivers


def _client(t: Target, source: str, key: str | None = None) -> httpx.Client:
    return httpx.Client(base_url=t.url, timeout=30, headers={"X-API-Key": key} if key else {},
                        transport=httpx.HTTPTransport(local_address=source), follow_redirects=False)


def guesses(t: Target) -> dict:
    out = {}
    for path, source in (("/readyz", "127.0.0.2"), ("/ui", "127.0.0.3")):
        with _client(t, source) as c:
            codes = Counter(c.get(path, headers={"X-API-Key": f"guess-{i:04d}-000000000000"}).status_code
                            for i in range(200))
            right = c.get(path, headers={"X-API-Key": KEY_A}).status_code
        out[f"200 wrong keys on {path}: answers"] = dict(sorted(codes.items()))
        out[f"then the right key on {path}"] = right
    return out


def _shared_view(t: Target, a, b, rx: Receivers) -> str:
    """A and B share a profile, each with a callback; it ends (cancelled by both) and A's callback
    is attempted: what B's GET of the shared record shows."""
    body = {"spec": SPEC, "factor": 3, "profile": PROFILE}
    pid = a.post("/scale", json={**body, "callback_url": rx.url + "/ok/shared?token=SECRET-OF-A"}).json()["id"]
    b.post("/scale", json={**body, "callback_url": rx.url + "/ok/shared-b"})
    b.delete(f"/profile/{pid}")  # B withdraws; A still waits
    a.delete(f"/profile/{pid}")  # the last key: cancelled, and A's callback is sent
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not t.attempts(pid):
        time.sleep(0.1)
    recorded = [x.get("url", "") for x in t.attempts(pid)]
    return b.get(f"/profile/{pid}").text, recorded


def two_keys(t: Target) -> dict:
    rx = Receivers()
    a, b = _client(t, "127.0.0.6", KEY_A), _client(t, "127.0.0.7", KEY_B)
    try:
        body = {"spec": SPEC, "factor": 2, "profile": PROFILE}
        pid = a.post("/scale", json={**body, "callback_url": rx.url + "/ok/a?token=SECRET-OF-A"}).json()["id"]
        listed = [i["id"] for i in b.get("/profiles").json()["items"]]
        record = b.get(f"/profile/{pid}")
        b_delete = b.delete(f"/profile/{pid}")
        b.post("/scale", json={**body, "callback_url": rx.url + "/ok/b"})  # the same request: one profile
        a_delete = a.delete(f"/profile/{pid}")
        b_after = b.get(f"/profile/{pid}").json()["status"]
        shared, recorded = _shared_view(t, a, b, rx)
        t.queue_delivery(rx.url + "/hang/x?token=SECRET-IN-LOG")  # a failing delivery, logged
        time.sleep(12)
    finally:
        a.close()
        b.close()
        rx.close()
    return {"B lists A's profile": pid in listed, "B reads A's record": record.status_code,
            "B sees A's callback URL/token on a shared profile": "SECRET-OF-A" in shared + record.text,
            "(A's attempt is recorded on that shared profile)": any("SECRET-OF-A" in u for u in recorded),
            "B cancels A's job": f"HTTP {b_delete.status_code}",
            "A's DELETE of the shared profile": f"HTTP {a_delete.status_code}, B's status after: {b_after}",
            "callback tokens in the API's log": t.logs().count("SECRET-")}
