"""Plans for the service, memoised by canonical request: a plan is a pure function of its request.

The core's ``fastscale.planner.make_plan`` does the work; this cache keeps the JSON of recent
plans so repeated and concurrent requests (sweeps, recommendations, clients polling) cost a
lookup. Callers share the cached dicts: treat them as read-only.
"""

from __future__ import annotations

import json
from functools import lru_cache

from fastscale.errors import ScalingError
from fastscale.planner import make_plan
from service.ids import canonical_json


@lru_cache(maxsize=4096)
def _plan(key: str) -> dict:
    return make_plan(**json.loads(key)).to_dict()


def plan_strategy(req: dict, strategy: str, alpha, factor: float | None = None, target_flops: float | None = None) -> dict:
    """The plan of ``req``'s base model (its model/spec and rounding) under one strategy point."""
    return plan_for({"model": req.get("model"), "spec": req.get("spec"), "strategy": strategy, "alpha": alpha,
                     "exponents": None, "factor": factor, "target_flops": target_flops,
                     "rounding": req.get("rounding", "nearest"), "resolution": None})


def strategy_items(entries: list) -> list[tuple[str, float | None]]:
    """(strategy, alpha) pairs from a request's list of names or {strategy, alpha} objects."""
    return [(e, None) if isinstance(e, str) else (e["strategy"], e.get("alpha")) for e in entries]


def plan_for(kwargs: dict) -> dict:
    """The plan JSON for these make_plan arguments. Treat the returned dict as read-only."""
    try:
        key = canonical_json(kwargs)
    except ValueError as exc:  # NaN/Infinity inside a free-form spec
        raise ScalingError("spec", "contains NaN or Infinity", "finite numbers only") from exc
    return _plan(key)
