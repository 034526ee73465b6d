"""Runtime points: every finished measurement as (acts, flops, ms) of its device signature.

A signature is (device class, dtype, batch size, mode); each has one Redis hash of profile id ->
point, written in the same transaction that finishes the profile (so a re-measurement replaces
its point instead of adding a second one). service.prediction fits runtime models on them.
"""

from __future__ import annotations

import json

import redis

from service.keys import Keys


class RuntimePoints:
    def __init__(self, client: redis.Redis, keys: Keys):
        self.r, self.keys = client, keys

    def add(self, pipe, rec: dict) -> None:
        """Inside the finishing transaction: one point per stably measured mode of the record (an
        unstable median is no evidence to fit on, and replaces any earlier point of the id)."""
        prof, cx = rec["profile"], rec["plan"]["complexity"]
        for mode in prof["modes"]:
            key = self.keys.points(rec["device_class"], prof["dtype"], prof["batch_size"], mode)
            if not rec["result"][mode].get("stable"):
                pipe.hdel(key, rec["id"])
                continue
            pipe.hset(key, rec["id"], json.dumps([cx["acts"], cx["flops"], rec["result"][mode]["median_ms"]]))

    def signature_keys(self) -> list[str]:
        return sorted(k.decode() for k in self.r.scan_iter(self.keys.points_pattern, count=500))

    def of(self, key: str) -> list[list[float]]:
        return [json.loads(v) for v in self.r.hvals(key)]
