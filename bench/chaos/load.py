"""A trickle of distinct /scale jobs that retries refusals as a client would, and the audit after it.

Every job is a tiny network at its own batch size (a distinct profile id), so each accepted id is
one measurement: ``finished`` counts records that reached it, ``duplicated`` counts measurements
written beyond one per record (the store's ``jobs_finished`` counter, written in the same
transaction as the record, minus the finished records), and ``lost`` counts accepted ids that are
gone or still not final when the scenario's deadline passes.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

import httpx

from service.profiles.store import ProfileStore

SPEC = {"family": "anynet", "stem_type": "simple_stem_in", "stem_w": 8, "block_type": "res_bottleneck_block",
        "depths": [1, 1], "widths": [16, 32], "strides": [2, 2], "bot_muls": [1.0, 1.0], "group_ws": [8, 8],
        "se_r": 0.25, "num_classes": 10}


def job_body(i: int) -> dict:
    return {"spec": SPEC, "factor": 2, "profile": {"device": "cpu", "batch_size": 1 + i, "modes": ["inference"],
                                                   "time_budget_s": 0.2}}


class Load:
    """Posts ``n`` distinct jobs, one every ``every_s``, each retried (honouring Retry-After, at most
    1 s apart) until accepted or refused for good (a 4xx), within ``give_up_s``."""

    def __init__(self, url: str, n: int, every_s: float = 0.4, give_up_s: float = 90):
        self.url, self.n, self.every_s, self.give_up_s = url, n, every_s, give_up_s
        self.accepted: list[str] = []
        self.codes: Counter = Counter()
        self.refused: list[str] = []
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> "Load":
        self.thread.start()
        return self

    def _run(self) -> None:
        with httpx.Client(timeout=10) as client:
            for i in range(self.n):
                self._post(client, i)
                time.sleep(self.every_s)

    def _post(self, client: httpx.Client, i: int) -> None:
        deadline = time.monotonic() + self.give_up_s
        while time.monotonic() < deadline:
            try:
                r = client.post(self.url + "/scale", json=job_body(i))
            except httpx.HTTPError:
                self.codes["no answer"] += 1
                time.sleep(0.5)
                continue
            self.codes[r.status_code] += 1
            if r.status_code in (200, 202):
                self.accepted.append(r.json()["id"])
                return
            if r.status_code < 500 and r.status_code != 429:
                self.refused.append(f"{r.status_code}: {r.text[:120]}")
                return
            time.sleep(min(float(r.headers.get("retry-after", 1)), 1.0))

    def join(self, timeout: float) -> None:
        self.thread.join(timeout)


def audit(store: ProfileStore, ids: list[str]) -> dict:
    """Statuses of the accepted ids, and measurements beyond one per finished record."""
    statuses = Counter((rec or {}).get("status", "gone") for rec in (store.get(pid) for pid in set(ids)))
    finished_writes = int(store.stats().get("jobs_finished", 0))
    return {"accepted": len(set(ids)), "finished": statuses["finished"], "failed": statuses["failed"],
            "cancelled": statuses["cancelled"], "lost": sum(statuses[s] for s in ("queued", "started", "gone")),
            "duplicated": max(0, finished_writes - statuses["finished"])}


def all_final(store: ProfileStore, ids: list[str]) -> bool:
    try:
        return all((rec := store.get(pid)) is not None and rec["status"] in ("finished", "failed", "cancelled")
                   for pid in set(ids))
    except Exception:  # noqa: BLE001 - Redis down mid-check: not yet
        return False
