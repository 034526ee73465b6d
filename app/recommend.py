"""Recommendations from real measurements (POST /recommend).

target_flops: plan every candidate strategy at that flops, profile each (cached ones are reused),
and choose the one with the lowest measured time.
latency_budget_ms: under one strategy, find the largest factor whose measured time fits: grow or
shrink the factor by doubling until the budget is bracketed, then bisect (in log factor) until
the bracket is within ``tolerance``. Every step is a real profile.

Runs in a thread of the API process. The record holds a lease that the thread refreshes; posting
the same request again resumes an orchestration whose process died (its finished profiles are
cached, so resuming costs only what was not yet measured).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import threading
import time

from app.ids import canonical_json
from app.planning import plan_strategy
from app.schemas import RecommendRequest
from app.store import now_iso
from app.submit import submit
from fastscale.errors import ScalingError

log = logging.getLogger("fastscale.recommend")
LEASE_S = 15


def rec_key(c, rid: str) -> str:
    return f"{c.settings.key_prefix}:recommend:{rid}"


def lease_key(c, rid: str) -> str:
    return f"{c.settings.key_prefix}:recommend-lease:{rid}"


def recommendation_id(req: RecommendRequest) -> str:
    return hashlib.sha256(canonical_json(req.model_dump(mode="json")).encode()).hexdigest()[:32]


def validate(req: RecommendRequest) -> None:
    if (req.target_flops is None) == (req.latency_budget_ms is None):
        raise ScalingError("target_flops", "give exactly one constraint", "target_flops or latency_budget_ms")
    if req.min_factor >= req.max_factor:
        raise ScalingError("min_factor", "must be below max_factor", "min_factor < max_factor")
    if req.mode not in req.profile.modes:
        raise ScalingError("mode", f"{req.mode} is not among profile.modes", "a mode the profile measures")


class Orchestration:
    def __init__(self, c, rid: str, req: RecommendRequest):
        self.c, self.rid, self.req = c, rid, req
        self.state = {"id": rid, "status": "running", "constraint": self._constraint(), "evidence": [],
                      "chosen": None, "error": None, "started_at": now_iso(), "finished_at": None,
                      "links": {"self": f"/recommend/{rid}"}}

    def _constraint(self) -> dict:
        if self.req.target_flops is not None:
            return {"target_flops": self.req.target_flops, "mode": self.req.mode}
        return {"latency_budget_ms": self.req.latency_budget_ms, "mode": self.req.mode, "strategy": self.req.strategy}

    def save(self) -> None:
        self.c.redis.set(rec_key(self.c, self.rid), json.dumps(self.state), ex=self.c.settings.result_ttl_s)
        self.c.redis.set(lease_key(self.c, self.rid), "1", ex=LEASE_S)

    def plan(self, strategy: str, alpha, factor=None, target=None) -> dict:
        return plan_strategy(self.req, strategy, alpha, factor=factor, target_flops=target)

    def measure(self, plans: list[tuple[str, float | None, dict]]) -> list[dict]:
        """Submit the plans (in parallel) and wait for their measurements; evidence rows."""
        subs = [(s, a, p, submit(self.c, p, self.req.profile)) for s, a, p in plans]
        deadline = time.monotonic() + 2 * self.c.settings.job_timeout_s
        rows = []
        for s, a, p, sub in subs:
            while True:
                rec = self.c.store.get(sub.id)
                if rec and rec["status"] in ("finished", "failed"):
                    break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"profile {sub.id} did not finish in time")
                self.save()  # also refreshes the lease
                time.sleep(0.2)
            ms = rec["result"][self.req.mode]["median_ms"] if rec["status"] == "finished" else None
            row = {"strategy": s, "alpha": a, "factor": p["requested_factor"], "achieved_factor": p["achieved_factor"],
                   "flops": p["complexity"]["flops"], "acts": p["complexity"]["acts"], "profile_id": sub.id,
                   "status": rec["status"], f"{self.req.mode}_ms": ms, "error": rec.get("error")}
            rows.append(row)
            self.state["evidence"].append(row)
        self.save()
        return rows

    def run(self) -> None:
        try:
            if self.req.target_flops is not None:
                self._by_flops()
            else:
                self._by_latency()
            self.state["status"] = "finished"
        except Exception as exc:  # noqa: BLE001 - the reason goes to the record
            log.warning("recommendation failed: %s", exc, extra={"recommend_id": self.rid})
            self.state.update(status="failed", error={"type": type(exc).__name__, "message": str(exc)})
        self.state["finished_at"] = now_iso()
        self.save()

    def _by_flops(self) -> None:
        plans = [(s, a, self.plan(s, a, target=self.req.target_flops)) for s, a in self.req.candidate_items()]
        rows = [r for r in self.measure(plans) if r["status"] == "finished"]
        if not rows:
            raise RuntimeError("no candidate could be measured; see evidence")
        best = min(rows, key=lambda r: r[f"{self.req.mode}_ms"])
        self.state["chosen"] = {**best, "plan": self.plan(best["strategy"], best["alpha"], target=self.req.target_flops),
                                "why": f"lowest measured {self.req.mode} time at {self.req.target_flops:.3g} flops"}

    def _by_latency(self) -> None:
        req, budget = self.req, self.req.latency_budget_ms
        key = f"{req.mode}_ms"

        def fits(s: float) -> tuple[bool, dict]:
            row = self.measure([(req.strategy, req.alpha, self.plan(req.strategy, req.alpha, factor=s))])[0]
            if row["status"] != "finished":
                raise RuntimeError(f"the profile at factor {s:g} failed: {row['error']}")
            return row[key] <= budget, row

        s = min(max(1.0, req.min_factor), req.max_factor)
        ok, row = fits(s)
        good = (s, row) if ok else None
        bad = None if ok else s
        while good is None:  # shrink until something fits
            s = max(req.min_factor, s / 2)
            ok, row = fits(s)
            if ok:
                good = (s, row)
            elif s <= req.min_factor:
                raise RuntimeError(f"even factor {req.min_factor:g} takes {row[key]:.2f} ms, over the {budget:g} ms budget")
            else:
                bad = s
        while bad is None:  # grow until it no longer fits
            if good[0] >= req.max_factor:
                break
            s = min(req.max_factor, good[0] * 2)
            ok, row = fits(s)
            if ok:
                good = (s, row)
            else:
                bad = s
        while bad is not None and bad / good[0] > 1 + req.tolerance:
            s = math.sqrt(good[0] * bad)
            ok, row = fits(s)
            if ok:
                good = (s, row)
            else:
                bad = s
        s, row = good
        self.state["chosen"] = {**row, "plan": self.plan(req.strategy, req.alpha, factor=s),
                                "why": f"largest factor of {req.strategy} whose measured {req.mode} time fits "
                                       f"{budget:g} ms" + (f" (next tried: {bad:.4g}x)" if bad else " (max_factor)")}


def start_or_resume(c, req: RecommendRequest) -> dict:
    validate(req)
    rid = recommendation_id(req)
    raw = c.redis.get(rec_key(c, rid))
    if raw is not None:
        state = json.loads(raw)
        if state["status"] != "running" or c.redis.exists(lease_key(c, rid)):
            return state
    # Fail fast on bad plans before going to the background.
    if req.target_flops is not None:
        for s, a in req.candidate_items():
            plan_strategy(req, s, a, target_flops=req.target_flops)
    else:
        plan_strategy(req, req.strategy, req.alpha, factor=1.0)
    orch = Orchestration(c, rid, req)
    orch.save()
    threading.Thread(target=orch.run, daemon=True, name=f"recommend-{rid[:8]}").start()
    return orch.state
