"""Planning for the API: the pure core, memoised by canonical request (a plan is a pure function)."""

from __future__ import annotations

import json
from functools import lru_cache

from app.ids import canonical_json
from fastscale.errors import ScalingError
from fastscale.planner import make_plan


@lru_cache(maxsize=4096)
def _plan(key: str) -> dict:
    return make_plan(**json.loads(key)).to_dict()


def plan_strategy(req, strategy: str, alpha, factor: float | None = None, target_flops: float | None = None) -> dict:
    """The plan of ``req``'s base model (its model/spec and rounding) under one strategy point."""
    return plan_for({"model": req.model, "spec": req.spec, "strategy": strategy, "alpha": alpha, "exponents": None,
                     "factor": factor, "target_flops": target_flops, "rounding": req.rounding, "resolution": None})


def plan_for(kwargs: dict) -> dict:
    """The plan JSON for these make_plan arguments. Treat the returned dict as read-only."""
    try:
        key = canonical_json(kwargs)
    except ValueError as exc:  # NaN/Infinity inside a free-form spec
        raise ScalingError("spec", "contains NaN or Infinity", "finite numbers only") from exc
    return _plan(key)
