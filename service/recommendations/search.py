"""A recommendation's search, decided on stable measurements only (issue #10, requirement 4).

target_flops: plan every candidate strategy at that flops, profile each (cached ones are reused),
and choose the one with the lowest stable time. latency_budget_ms: under one strategy, find the
largest factor whose stable time fits: grow or shrink the factor by doubling until the budget is
bracketed, then bisect (in log factor) until the bracket is within ``tolerance``.

A measurement whose mode came back unstable is taken again with a larger timing budget (x4 each
time, at most FASTSCALE_MAX_TIME_BUDGET_S); one still unstable there is no evidence: the target
search leaves that candidate out and says so, the latency search stops and says it could not
decide. Every measurement, the unstable ones included, is kept as evidence. The first budget and
the batch size are the device class's defaults unless the request gives them, and the whole search
has a total wall-clock budget (``total_budget_s``, else the device class's: 2 min on a CPU, 1 h on
a GPU): past it, it fails saying it could not decide within it, with what it measured so far.

Errors of the service itself (Redis, a full queue, no worker, a lost worker, a profile that never
finished) raise ``Transient``-kind errors: the caller records them as retryable, never as a
cached outcome (issue #13).
"""

from __future__ import annotations

import math
import time
from typing import Callable

from service.context import Services
from service.device_defaults import defaults_for
from service.errors import RecommendationFailed
from service.planning.cache import plan_strategy, strategy_items
from service.polling import PollTimeout, wait_until
from service.profiles.store import DONE
from service.profiles.submit import submit

ESCALATION = 4  # an unstable measurement is taken again with this many times the budget
TRANSIENT_PROFILE_ERRORS = ("WorkerLost",)


class Transient(RuntimeError):
    """The service, not the request, failed (a profile lost its worker or never finished)."""


class Orchestration:
    """The search; ``checkpoint()`` (called while waiting) saves progress and may stop it."""

    def __init__(self, c: Services, req: dict, state: dict, checkpoint: Callable[[], None]):
        self.c, self.req, self.state, self.checkpoint = c, req, state, checkpoint
        self.mode = req["mode"]
        self.first_budget = req["profile"].get("time_budget_s")  # None: the device class's default
        self.started, self.total_s = time.monotonic(), req.get("total_budget_s")

    def _deadline(self, device_class: str) -> float:
        """When the whole search must have decided (its total budget, else the device class's)."""
        if self.total_s is None:
            self.total_s = defaults_for(device_class, self.c.settings).recommend_total_s
        return self.started + self.total_s

    def _out_of_time(self) -> RecommendationFailed:
        done = [r for r in self.state["evidence"] if r["status"] == "finished"]
        stable = sum(r[f"{self.mode}_stable"] for r in done)
        return RecommendationFailed(
            f"could not decide within {self.total_s:g} s (total_budget_s): {len(done)} measurements taken, "
            f"{stable} of them stable; see evidence (a larger total_budget_s, a smaller batch, or a GPU)")

    def plan(self, strategy: str, alpha, factor=None, target=None) -> dict:
        return plan_strategy(self.req, strategy, alpha, factor=factor, target_flops=target)

    def run(self) -> None:
        if self.req["target_flops"] is not None:
            self._by_flops()
        else:
            self._by_latency()

    # ------------------------------------------------------------------ measuring
    def _row(self, strategy, alpha, plan: dict, pid: str, rec: dict, budget: float) -> dict:
        m = (rec.get("result") or {}).get(self.mode, {}) if rec["status"] == "finished" else {}
        return {"strategy": plan["strategy"]["name"], "alpha": plan["strategy"].get("alpha"),
                "factor": plan["requested_factor"],
                "achieved_factor": plan["achieved_factor"], "flops": plan["complexity"]["flops"],
                "acts": plan["complexity"]["acts"], "profile_id": pid, "status": rec["status"], "time_budget_s": budget,
                f"{self.mode}_ms": m.get("median_ms"), f"{self.mode}_stable": m.get("stable") is True,
                f"{self.mode}_n": m.get("n"), "error": rec.get("error")}

    def _measure_once(self, plans: list[tuple], budget: float) -> list[dict]:
        """Submit the plans at ``budget`` (in parallel) and wait for them; one evidence row each."""
        if self.total_s is not None and time.monotonic() >= self.started + self.total_s:
            raise self._out_of_time()
        profile = {**self.req["profile"], "time_budget_s": budget}
        subs = [(s, a, p, submit(self.c, p, profile)) for s, a, p in plans]
        deadline = time.monotonic() + 2 * self.c.settings.job_timeout_s
        total = self._deadline(subs[0][3].device_class) if subs else deadline
        rows = []
        for s, a, p, sub in subs:
            try:
                rec = wait_until(lambda: self.c.store.get(sub.id), lambda r: bool(r) and r["status"] in DONE,
                                 max(0.0, min(deadline, total) - time.monotonic()), every=0.2,
                                 on_poll=lambda _r: self.checkpoint())
            except PollTimeout:
                if time.monotonic() >= total:
                    raise self._out_of_time() from None
                raise Transient(f"profile {sub.id} did not finish in time") from None
            if rec["status"] == "failed" and (rec.get("error") or {}).get("type") in TRANSIENT_PROFILE_ERRORS:
                raise Transient(f"profile {sub.id} failed: {rec['error']['message']}")
            rows.append(self._row(s, a, p, sub.id, rec, rec["profile"]["time_budget_s"]))
        self.state["evidence"].extend(rows)
        self.checkpoint()
        return rows

    def measure(self, plans: list[tuple]) -> list[dict]:
        """The plans' final rows: stable ones, failed ones, and ones unstable at the largest budget."""
        final: dict[int, dict] = {}
        pending, budget = list(enumerate(plans)), self.first_budget
        while pending:
            rows = self._measure_once([plan for _, plan in pending], budget)
            retry = []
            for (i, plan), row in zip(pending, rows):
                again = row["status"] == "finished" and not row[f"{self.mode}_stable"]
                if again and row["time_budget_s"] < self.c.settings.max_time_budget_s:
                    retry.append((i, plan))
                else:
                    final[i] = row
            used = max(row["time_budget_s"] for row in rows)
            pending, budget = retry, min(used * ESCALATION, self.c.settings.max_time_budget_s)
        return [final[i] for i in range(len(plans))]

    # ------------------------------------------------------------------ deciding
    def _by_flops(self) -> None:
        target = self.req["target_flops"]
        plans = [(s, a, self.plan(s, a, target=target)) for s, a in strategy_items(self.req["candidates"])]
        rows = self.measure(plans)
        stable = [r for r in rows if r["status"] == "finished" and r[f"{self.mode}_stable"]]
        unstable = [r["strategy"] for r in rows if r["status"] == "finished" and not r[f"{self.mode}_stable"]]
        failed = [r["strategy"] for r in rows if r["status"] != "finished"]
        if not stable:
            raise RecommendationFailed(
                f"could not decide: no candidate was measured stably ({len(unstable)} unstable even with a "
                f"{self.c.settings.max_time_budget_s:g} s budget per mode, {len(failed)} failed); see evidence")
        best = min(stable, key=lambda r: r[f"{self.mode}_ms"])
        self.state["chosen"] = {**best, "plan": self.plan(best["strategy"], best["alpha"], target=target),
                                "why": f"lowest stable {self.mode} time at {target:.3g} flops among "
                                       f"{len(stable)} of {len(rows)} candidates"}
        if unstable or failed:
            self.state["note"] = (f"decided among the {len(stable)} candidates measured stably; left out: "
                                  + ", ".join([f"{s} (unstable)" for s in unstable] + [f"{s} (failed)" for s in failed]))

    def _fits(self, factor: float) -> tuple[bool, dict]:
        """Measure the strategy at ``factor``: (within the budget?, evidence row); stable or raise."""
        req = self.req
        row = self.measure([(req["strategy"], req["alpha"], self.plan(req["strategy"], req["alpha"], factor=factor))])[0]
        if row["status"] != "finished":
            raise RecommendationFailed(f"the profile at factor {factor:g} failed: {row['error']}")
        if not row[f"{self.mode}_stable"]:
            raise RecommendationFailed(
                f"could not decide: the {self.mode} time at factor {factor:g} stayed unstable even with a "
                f"{row['time_budget_s']:g} s budget per mode (n = {row[f'{self.mode}_n']}); see evidence")
        return row[f"{self.mode}_ms"] <= req["latency_budget_ms"], row

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
                raise RecommendationFailed(f"even factor {req['min_factor']:g} takes {row[f'{self.mode}_ms']:.2f} ms, "
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
                                "why": f"largest factor of {req['strategy']} whose stable {req['mode']} time fits "
                                       f"{budget:g} ms" + (f" (next tried: {bad:.4g}x)" if bad else " (max_factor)")}
