"""Attacks on callback delivery (issue 23, findings 1 to 3)."""

from __future__ import annotations

import json
import statistics
import time
from collections import Counter

import httpx

from bench.attacks.harness import KEY_A, Target
from bench.attacks.receivers import HUGE_BYTES, Receivers
from service.notify.outbox import add_event

POISON = ["http://0177.0.0.2:18601/ok", "http://127.0.0.1/a\r\nb", "http://127.0.0.1/a\nb", "http://127.0.0.1/a\x00",
          "http://127.0.0.1/a\tb", "http://[127.0.0.2]:1/", "http://127.0.0.1:99999/x"]
SPEC = {"family": "anynet", "stem_type": "simple_stem_in", "stem_w": 8, "block_type": "res_bottleneck_block",
        "depths": [1, 1], "widths": [16, 32], "strides": [2, 2], "bot_muls": [1.0, 1.0], "group_ws": [8, 8],
        "se_r": 0.25, "num_classes": 10}
PROFILE = {"device": "cpu-idle", "batch_size": 2, "modes": ["inference"], "time_budget_s": 0.3}


def _wait(predicate, timeout: float, every: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    return None


def _delays(good: Receivers, queued: dict[str, float], timeout: float) -> list[float]:
    _wait(lambda: all(good.first(p) for p in queued), timeout)
    return [good.first(p) - at if good.first(p) else float("inf") for p, at in queued.items()]


def slow_receivers(t: Target) -> dict:
    """A receiver trickling a byte every 5 s, then 20 hanging of 60: delays of the healthy ones,
    and of a final-state event that arrives meanwhile."""
    bad, good = Receivers(hang_s=120, trickle_s=5), Receivers()
    try:
        started = time.monotonic()
        trickle = t.queue_delivery(bad.url + "/trickle/1")
        time.sleep(0.5)
        one = _delays(good, {"/ok/first": (t.queue_delivery(good.url + "/ok/first"), time.monotonic())[1]}, 60)[0]
        _wait(lambda: t.attempts(trickle), 120)
        trickle_s = time.monotonic() - started
        queued = {}
        for i in range(60):
            if i % 3 == 0:
                t.queue_delivery(bad.url + f"/hang/{i}")
            else:
                path = f"/ok/{i}"
                t.queue_delivery(good.url + path)
                queued[path] = time.monotonic()
        event_s = _event_delay(t)
        delays = _delays(good, queued, 300)
    finally:
        bad.close()
        good.close()
    return {"trickle attempt held (s)": round(trickle_s, 1), "healthy delay behind the trickler (s)": round(one, 2),
            "healthy delay, 20 of 60 hanging: p50 (s)": round(statistics.median(delays), 2),
            "healthy delay, 20 of 60 hanging: max (s)": round(max(delays), 2),
            "final-state event delay while they hang (s)": round(event_s, 2)}


def _event_delay(t: Target) -> float:
    rid = t.queue_delivery("http://127.0.0.1:9/unused")  # a record for the event to name
    pipe = t.r.pipeline()
    add_event(pipe, t.keys, "profile", rid, 2, "finished", {"id": rid, "status": "finished"})
    pipe.execute()
    started = time.monotonic()
    _wait(lambda: t.r.zscore(t.keys.outbox_events, f"profile:{rid}:2:finished") is None, 120)
    return time.monotonic() - started


def huge_answer(t: Target) -> dict:
    rx = Receivers()
    try:
        before = t.rss_mb()
        rid = t.queue_delivery(rx.url + "/huge")
        _wait(lambda: t.attempts(rid), 120)
        time.sleep(1)
        after = t.rss_mb()
        sent = rx.huge_sent
    finally:
        rx.close()
    return {"API RSS before a 200 MB answer (MB)": round(before), "API RSS after (MB)": round(after),
            "answer bytes the receiver got to send (MB)": round(sent / 2**20, 1),
            "attempt recorded as": json.dumps({k: t.attempts(rid)[0].get(k) for k in ("status", "error")})}


def poison_urls(t: Target) -> dict:
    statuses: Counter = Counter()
    bodies = {"/scale": {"spec": SPEC, "factor": 2, "profile": PROFILE},
              "/sweep": {"spec": SPEC, "strategies": ["w"], "factors": [1], "profile": PROFILE},
              "/recommend": {"spec": SPEC, "target_flops": 1e6, "profile": PROFILE}}
    with httpx.Client(base_url=t.url, headers={"X-API-Key": KEY_A}, timeout=60,
                      transport=httpx.HTTPTransport(local_address="127.0.0.5")) as api:
        for path, body in bodies.items():
            for url in POISON:
                statuses[api.post(path, json={**body, "callback_url": url}).status_code] += 1
    good = Receivers()
    try:
        stored = [t.queue_delivery(POISON[i % len(POISON)]) for i in range(50)]  # what older versions let in
        at = time.monotonic()
        t.queue_delivery(good.url + "/ok/after-poison")
        delay = _delays(good, {"/ok/after-poison": at}, 300)[0]
        _wait(lambda: all(t.attempts(r) for r in stored), 60)
        counted = sum(1 for r in stored if t.attempts(r))
    finally:
        good.close()
    return {f"poison URLs at submit ({len(POISON)} forms x 3 routes)": dict(sorted(statuses.items())),
            "healthy delivery delay behind 50 stored poison items (s)": round(delay, 2),
            "stored poison items counted as failed attempts": f"{counted}/50"}
