"""The pycls config of a stored plan: its JSON re-validated (``Plan.from_dict`` refuses tampered
figures), then written as ``plan_yaml`` writes a plan. A module of its own because it needs the
planner, which itself reads pycls configs: the rest of ``fastscale.pycls`` stays below the planner.
"""

from __future__ import annotations

from fastscale.planning.planner import Plan
from fastscale.pycls.writer import plan_yaml


def plan_json_yaml(plan_json: dict) -> str:
    """``plan_yaml`` of a stored plan (its JSON, as a profile record or POST /plan holds it)."""
    return plan_yaml(Plan.from_dict(plan_json))
