"""POST /plan: the analytic answer only; nothing is queued."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from app.context import Context, ctx
from app.planning import plan_for
from app.prediction import predicted_all
from app.schemas import PlanRequest

router = APIRouter(tags=["plan"])


@router.post("/plan", summary="Plan a scaled model (analytic complexity, no profiling)")
def plan(req: PlanRequest, c: Context = Depends(ctx)) -> dict:
    plan = plan_for(req.plan_kwargs())
    return {**plan, "predicted": predicted_all(c, plan["complexity"])}
