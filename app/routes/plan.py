"""POST /plan: the analytic answer only; nothing is queued."""

from __future__ import annotations

from fastapi import APIRouter

from app.planning import plan_for
from app.schemas import PlanRequest

router = APIRouter(tags=["plan"])


@router.post("/plan", summary="Plan a scaled model (analytic complexity, no profiling)")
def plan(req: PlanRequest) -> dict:
    return plan_for(req.plan_kwargs())
