"""Recommendations from real measurements (POST /recommend): the logic and its record in Redis.

target_flops: plan every candidate strategy at that flops, profile each (cached ones are reused),
and choose the one with the lowest measured time.
latency_budget_ms: under one strategy, find the largest factor whose measured time fits: grow or
shrink the factor by doubling until the budget is bracketed, then bisect (in log factor) until
the bracket is within ``tolerance``. Every step is a real profile.

Runs in a thread of the API process. The record holds a lease that the thread refreshes; posting
the same request again resumes an orchestration whose process died (its finished profiles are
cached, so resuming costs only what was not yet measured). The request arrives as plain data
(the API's schema, dumped as JSON), which is also what its id is a hash of.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time

from service.context import Services
from service.errors import InvalidRequest, NotFound, RecommendationFailed
from service.ids import content_id
from service.plan_cache import plan_strategy, strategy_items
from service.recommendation_state import RecommendationCancelled
from service.recommendation_state import save as save_state
from service.polling import PollTimeout, wait_until
from service.store import DONE, now_iso
from service.submit import submit

log = logging.getLogger("fastscale.recommend")
LEASE_S = 15


def validate(req: dict) -> None:
    if (req["target_flops"] is None) == (req["latency_budget_ms"] is None):
        raise InvalidRequest("give exactly one constraint", "target_flops", "target_flops or latency_budget_ms")
    if req["min_factor"] >= req["max_factor"]:
        raise InvalidRequest("must be below max_factor", "min_factor", "min_factor < max_factor")
    if req["mode"] not in req["profile"]["modes"]:
        raise InvalidRequest(f"{req['mode']} is not among profile.modes", "mode", "a mode the profile measures")


def get_recommendation(c: Services, rid: str) -> dict:
    """The stored state; ``rid`` must already be a valid id (the API checks it before calling)."""
    raw = c.redis.get(c.keys.recommendation(rid))
    if raw is None:
        raise NotFound(f"no recommendation {rid}: unknown, or expired")
    return json.loads(raw)


class Orchestration:
    def __init__(self, c: Services, rid: str, req: dict):
        self.c, self.rid, self.req = c, rid, req
        self.mode_ms = f"{req['mode']}_ms"
        self.state = {"id": rid, "status": "running", "constraint": self._constraint(), "evidence": [],
                      "chosen": None, "error": None, "started_at": now_iso(), "finished_at": None,
                      "links": {"self": f"/recommend/{rid}"}}

    def _constraint(self) -> dict:
        if self.req["target_flops"] is not None:
            return {"target_flops": self.req["target_flops"], "mode": self.req["mode"]}
        return {"latency_budget_ms": self.req["latency_budget_ms"], "mode": self.req["mode"],
                "strategy": self.req["strategy"]}

    def save(self) -> None:
        """Write the state and refresh the lease that says this orchestration is alive."""
        save_state(self.c, self.state, self.req, LEASE_S)

    def plan(self, strategy: str, alpha, factor=None, target=None) -> dict:
        return plan_strategy(self.req, strategy, alpha, factor=factor, target_flops=target)

    def measure(self, plans: list[tuple[str, float | None, dict]]) -> list[dict]:
        """Submit the plans (in parallel) and wait for their measurements; evidence rows."""
        subs = [(s, a, p, submit(self.c, p, self.req["profile"])) for s, a, p in plans]
        deadline = time.monotonic() + 2 * self.c.settings.job_timeout_s
        rows = []
        for s, a, p, sub in subs:
            try:
                rec = wait_until(lambda: self.c.store.get(sub.id), lambda r: bool(r) and r["status"] in DONE,
                                 max(0.0, deadline - time.monotonic()), every=0.2, on_poll=lambda _r: self.save())
            except PollTimeout:
                raise RecommendationFailed(f"profile {sub.id} did not finish in time") from None
            ms = rec["result"][self.req["mode"]]["median_ms"] if rec["status"] == "finished" else None
            row = {"strategy": s, "alpha": a, "factor": p["requested_factor"], "achieved_factor": p["achieved_factor"],
                   "flops": p["complexity"]["flops"], "acts": p["complexity"]["acts"], "profile_id": sub.id,
                   "status": rec["status"], self.mode_ms: ms, "error": rec.get("error")}
            rows.append(row)
            self.state["evidence"].append(row)
        self.save()
        return rows

    def run(self) -> None:
        try:
            if self.req["target_flops"] is not None:
                self._by_flops()
            else:
                self._by_latency()
            self.state["status"] = "finished"
        except RecommendationCancelled as exc:
            self.state.update(status="cancelled", error={"type": exc.code, "message": str(exc)})
        except Exception as exc:  # noqa: BLE001 - the reason goes to the record
            log.warning("recommendation failed: %s", exc, extra={"recommend_id": self.rid})
            self.state.update(status="failed", error={"type": type(exc).__name__, "message": str(exc)})
        self.state["finished_at"] = now_iso()
        self.save()

    def _by_flops(self) -> None:
        target = self.req["target_flops"]
        plans = [(s, a, self.plan(s, a, target=target)) for s, a in strategy_items(self.req["candidates"])]
        rows = [r for r in self.measure(plans) if r["status"] == "finished"]
        if not rows:
            raise RecommendationFailed("no candidate could be measured; see evidence")
        best = min(rows, key=lambda r: r[self.mode_ms])
        self.state["chosen"] = {**best, "plan": self.plan(best["strategy"], best["alpha"], target=target),
                                "why": f"lowest measured {self.req['mode']} time at {target:.3g} flops"}

    def _fits(self, factor: float) -> tuple[bool, dict]:
        """Measure the strategy at ``factor``: (within the budget?, evidence row)."""
        req = self.req
        row = self.measure([(req["strategy"], req["alpha"], self.plan(req["strategy"], req["alpha"], factor=factor))])[0]
        if row["status"] != "finished":
            raise RecommendationFailed(f"the profile at factor {factor:g} failed: {row['error']}")
        return row[self.mode_ms] <= req["latency_budget_ms"], row

    def _by_latency(self) -> None:
        req, budget = self.req, self.req["latency_budget_ms"]
        s = min(max(1.0, req["min_factor"]), req["max_factor"])
        ok, row = self._fits(s)
        good = (s, row) if ok else None
        bad = None if ok else s
        while good is None:  # shrink until something fits
            s = max(req["min_factor"], s / 2)
            ok, row = self._fits(s)
            if ok:
                good = (s, row)
            elif s <= req["min_factor"]:
                raise RecommendationFailed(f"even factor {req['min_factor']:g} takes {row[self.mode_ms]:.2f} ms, "
                                           f"over the {budget:g} ms budget")
            else:
                bad = s
        while bad is None and good[0] < req["max_factor"]:  # grow until it no longer fits
            s = min(req["max_factor"], good[0] * 2)
            ok, row = self._fits(s)
            good, bad = ((s, row), bad) if ok else (good, s)
        while bad is not None and bad / good[0] > 1 + req["tolerance"]:  # bisect in log factor
            s = math.sqrt(good[0] * bad)
            ok, row = self._fits(s)
            good, bad = ((s, row), bad) if ok else (good, s)
        s, row = good
        self.state["chosen"] = {**row, "plan": self.plan(req["strategy"], req["alpha"], factor=s),
                                "why": f"largest factor of {req['strategy']} whose measured {req['mode']} time fits "
                                       f"{budget:g} ms" + (f" (next tried: {bad:.4g}x)" if bad else " (max_factor)")}


def start_or_resume(c: Services, req: dict) -> dict:
    """The recommendation's state: an existing one, a resumed one, or a new one started in a thread."""
    validate(req)
    rid = content_id(req)
    raw = c.redis.get(c.keys.recommendation(rid))
    if raw is not None:
        state = json.loads(raw)
        if state["status"] != "running" or c.redis.exists(c.keys.recommendation_lease(rid)):
            return state
    # Fail fast on bad plans before going to the background.
    if req["target_flops"] is not None:
        for s, a in strategy_items(req["candidates"]):
            plan_strategy(req, s, a, target_flops=req["target_flops"])
    else:
        plan_strategy(req, req["strategy"], req["alpha"], factor=1.0)
    orch = Orchestration(c, rid, req)
    orch.save()
    threading.Thread(target=orch.run, daemon=True, name=f"recommend-{rid[:8]}").start()
    return orch.state
