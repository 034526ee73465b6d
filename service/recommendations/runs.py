"""Recommendations from real measurements (POST /recommend): starting, claiming, recording.

The search itself is service.recommendations.search's. This module decides who runs it and what is kept:
- Bounded: at most FASTSCALE_MAX_RUNNING_RECOMMENDATIONS searches run in an API process, each in
  a daemon thread holding one slot; a request that finds no free slot gets 429 with Retry-After
  (issue #13: one thread per distinct request once made 248 threads).
- Claimed atomically: the lease key is taken with SET NX and a random token, so of two identical
  requests exactly one starts a search. While it runs, progress and the lease are written
  together in a transaction that first checks the token under WATCH (service.recommendations.state),
  so a search whose lease was taken over
  (its process stalled past LEASE_S) stops instead of overwriting its successor.
- Cached only when genuine: a decision, or a failure that is the request's own (an unattainable
  budget, unstable measurements, invalid plans), is kept for FASTSCALE_RESULT_TTL_S. A failure
  of the service (Redis, a full queue, no worker, a lost worker, anything unexpected) is written
  as ``failed`` with ``retryable: true`` for TRANSIENT_TTL_S only, and the same request posted
  again starts afresh instead of being answered from it.
The request arrives as plain data (the API's schema, dumped as JSON); its id is a hash of it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import uuid
from functools import lru_cache

from fastscale.errors import ScalingError
from service.context import Services
from service.errors import InvalidRequest, LimitExceeded, NotFound, RateLimited, RecommendationFailed
from fastscale.strategies import canonical
from service.ids import content_id
from service.recommendations.search import Orchestration
from service.planning.cache import plan_strategy, strategy_items
from service.profiles.store import now_iso
from service.profiles.submit import profile_settings
from service.recommendations.state import RecommendationCancelled
from service.recommendations.state import release_lease
from service.recommendations.state import save as save_state

log = logging.getLogger("fastscale.recommend")
LEASE_S = 15
TRANSIENT_TTL_S = 60
RETRY_AFTER_S = 30
GENUINE = (RecommendationFailed, InvalidRequest, LimitExceeded, ScalingError)



class Superseded(RuntimeError):
    """This search's lease now belongs to another one: stop without writing."""


class Slots:
    """A fixed number of daemon threads' worth of room; ``take`` never blocks."""

    def __init__(self, size: int):
        self.free = threading.BoundedSemaphore(size)

    def take(self) -> bool:
        return self.free.acquire(blocking=False)

    def give_back(self) -> None:
        self.free.release()

    def start(self, fn) -> None:
        """Run ``fn`` in a daemon thread that gives its (already taken) slot back when done."""
        def run() -> None:
            try:
                fn()
            finally:
                self.give_back()

        threading.Thread(target=run, daemon=True, name="recommend").start()


@lru_cache(maxsize=None)
def slots_for(key_prefix: str, size: int) -> Slots:
    """The slots of one deployment in this process (tests run several apps, each its own prefix)."""
    return Slots(size)


def validate(req: dict) -> None:
    if (req["target_flops"] is None) == (req["latency_budget_ms"] is None):
        raise InvalidRequest("give exactly one constraint", "target_flops", "target_flops or latency_budget_ms")
    if req["min_factor"] >= req["max_factor"]:
        raise InvalidRequest("must be below max_factor", "min_factor", "min_factor < max_factor")
    if req["mode"] not in req["profile"]["modes"]:
        raise InvalidRequest(f"{req['mode']} is not among profile.modes", "mode", "a mode the profile measures")
    _canonical_strategies(req)


def _canonical_strategies(req: dict) -> None:
    """Every strategy of ``req`` under its canonical name (fastscale.strategies), in place, before
    the id is taken: ``wdr`` and ``dwr`` are one search, listed and filtered as ``dwr``."""
    if req.get("strategy") is not None:
        req["strategy"], req["alpha"] = canonical(req["strategy"], req.get("alpha"))
    items = []
    for i, (name, alpha) in enumerate(strategy_items(req.get("candidates") or [])):
        name, alpha = canonical(name, alpha, f"candidates[{i}]")
        items.append(name if alpha is None else {"strategy": name, "alpha": alpha})
    if req.get("candidates") is not None:
        req["candidates"] = items


def get_recommendation(c: Services, rid: str) -> dict:
    """The stored state; ``rid`` must already be a valid id (the API checks it before calling)."""
    raw = c.redis.get(c.keys.recommendation(rid))
    if raw is None:
        raise NotFound(f"no recommendation {rid}: unknown, or expired")
    return json.loads(raw)


class Run:
    """One claimed search: its state, its lease token, and the writes guarded by the token."""

    def __init__(self, c: Services, rid: str, req: dict, token: str):
        self.c, self.rid, self.req, self.token = c, rid, req, token
        self.state = {"id": rid, "status": "running", "constraint": _constraint(req), "evidence": [], "chosen": None,
                      "error": None, "started_at": now_iso(), "finished_at": None, "links": {"self": f"/recommend/{rid}"}}

    def save(self, ttl: int | None = None, lease_s: int = LEASE_S) -> None:
        """Write the state (with its lease, indexes and, once final, its callback event), only while
        the lease is this run's; a cancelled search learns it here (RecommendationCancelled)."""
        if not save_state(self.c, self.state, self.req, lease_s, token=self.token, ttl=ttl):
            raise Superseded(f"recommendation {self.rid} is driven by another process now")

    def run(self) -> None:
        ttl = None
        try:
            Orchestration(self.c, self.req, self.state, self.save).run()
            self.state["status"] = "finished"
        except Superseded:
            return
        except RecommendationCancelled as exc:
            self.state.update(status="cancelled", error={"type": exc.code, "message": str(exc)})
        except GENUINE as exc:
            self._failed(exc, retryable=False)
        except Exception as exc:  # noqa: BLE001 - the service's own failure: recorded briefly, never cached
            self._failed(exc, retryable=True)
            ttl = TRANSIENT_TTL_S
        self.state["finished_at"] = now_iso()
        try:
            self.save(ttl=ttl, lease_s=0)
        except Superseded:
            return

    def _failed(self, exc: BaseException, retryable: bool) -> None:
        log.warning("recommendation failed: %s", exc, extra={"recommend_id": self.rid})
        message = getattr(exc, "message", None) or str(exc)
        self.state.update(status="failed", error={"type": type(exc).__name__, "message": message}, retryable=retryable)


def _constraint(req: dict) -> dict:
    if req["target_flops"] is not None:
        return {"target_flops": req["target_flops"], "mode": req["mode"]}
    return {"latency_budget_ms": req["latency_budget_ms"], "mode": req["mode"], "strategy": req["strategy"]}


def _check_request(c: Services, req: dict) -> None:
    """Fail fast on bad plans or profile settings (a 422 now) before anything goes to the background."""
    profile_settings(req["profile"], c.settings)
    if req["target_flops"] is not None:
        for s, a in strategy_items(req["candidates"]):
            plan_strategy(req, s, a, target_flops=req["target_flops"])
    else:
        plan_strategy(req, req["strategy"], req["alpha"], factor=1.0)


def _settled(c: Services, rid: str) -> dict | None:
    """The stored state if it answers the request: decided, genuinely failed, or running with a
    live lease. None when a search must start: unknown, abandoned, or failed retryably."""
    raw = c.redis.get(c.keys.recommendation(rid))
    if raw is None:
        return None
    state = json.loads(raw)
    if state["status"] == "running":
        return state if c.redis.exists(c.keys.recommendation_lease(rid)) else None
    return None if state.get("retryable") else state


def start_or_resume(c: Services, req: dict) -> dict:
    """The recommendation's state: a stored one, or a search started now (429 when all slots are busy)."""
    validate(req)
    rid = content_id(req)
    state = _settled(c, rid)
    if state is not None:
        return state
    _check_request(c, req)
    run = Run(c, rid, req, uuid.uuid4().hex)
    lease = c.keys.recommendation_lease(rid)
    # Claim first, then take a slot: identical concurrent requests join the one claimant instead
    # of each holding a slot for a moment (which turned a burst of duplicates into 429s).
    if not c.redis.set(lease, run.token, nx=True, ex=LEASE_S):
        return _settled(c, rid) or run.state
    slots = slots_for(c.settings.key_prefix, c.settings.max_running_recommendations)
    try:
        if not slots.take():
            raise RateLimited(f"{c.settings.max_running_recommendations} recommendations are running in this "
                              "process (FASTSCALE_MAX_RUNNING_RECOMMENDATIONS); retry later",
                              headers={"Retry-After": str(RETRY_AFTER_S)})
        try:
            run.save()
        except BaseException:
            slots.give_back()
            raise
    except BaseException:
        with contextlib.suppress(Exception):
            release_lease(c, rid, run.token)
        raise
    slots.start(run.run)
    return run.state
