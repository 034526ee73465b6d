"""Runtime points: every stable measurement with the runtime model's terms of its network.

A signature is (device class, dtype, batch size, mode); each has one Redis hash of profile id ->
point, written in the same transaction that finishes the profile (so a re-measurement replaces
its point instead of adding a second one). A point is JSON: ``ms`` (the median), ``family``,
``arch`` (fastscale.prediction.predictor_eval.arch_key of the network, to answer a plan that was measured
with its measurement) and ``terms`` (fastscale.prediction.runtime_model.terms of that mode). The terms are
computed once here, when the point is written, so fitting and predicting never re-trace the
stored networks. service.prediction.predictor fits runtime models on them; points written before the terms
existed (plain [acts, flops, ms] lists) are skipped.
"""

from __future__ import annotations

import json

import redis

from fastscale.errors import ScalingError
from fastscale.families import spec_from_dict
from fastscale.prediction.predictor_eval import arch_key
from fastscale.prediction.runtime_model import terms
from service.redis.keys import Keys


def point_terms(plan: dict, batch_size: int, dtype: str) -> dict:
    """The runtime model's terms per mode of a plan's network (memoised in the core)."""
    return terms(spec_from_dict(plan["arch"], "plan.arch"), plan["resolution"], batch_size, dtype)


class RuntimePoints:
    def __init__(self, client: redis.Redis, keys: Keys):
        self.r, self.keys = client, keys

    def add(self, pipe, rec: dict) -> None:
        """Inside the finishing transaction: one point per stably measured mode of the record (an
        unstable median is no evidence to fit on, and replaces any earlier point of the id)."""
        prof, plan = rec["profile"], rec["plan"]
        stable = [m for m in prof["modes"] if rec["result"][m].get("stable")]
        try:
            per_mode = point_terms(plan, prof["batch_size"], prof["dtype"]) if stable else {}
        except ScalingError:  # a plan that no longer reads as a spec is no evidence either
            stable = []
        network = arch_key(plan["arch"], plan["resolution"])
        for mode in prof["modes"]:
            key = self.keys.points(rec["device_class"], prof["dtype"], prof["batch_size"], mode)
            if mode not in stable:
                pipe.hdel(key, rec["id"])
                continue
            point = {"ms": rec["result"][mode]["median_ms"], "family": plan["base"]["family"], "arch": network,
                     "terms": per_mode[mode]}
            pipe.hset(key, rec["id"], json.dumps(point))
        pipe.incr(self.keys.points_version)

    def version(self) -> bytes | None:
        return self.r.get(self.keys.points_version)

    def signature_keys(self) -> list[str]:
        return sorted(k.decode() for k in self.r.scan_iter(self.keys.points_pattern, count=500))

    def of(self, key: str) -> dict[str, dict]:
        """id -> point of one signature (legacy list points left out)."""
        out = {}
        for pid, raw in self.r.hgetall(key).items():
            point = json.loads(raw)
            if isinstance(point, dict):
                out[pid.decode()] = point
        return out
