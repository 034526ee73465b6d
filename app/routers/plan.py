"""POST /plan: the analytic answer only; nothing is queued."""

from __future__ import annotations

from fastapi import APIRouter

from app.deps import Ctx
from app.documented import POST_GUARD, problems
from app.schemas import PlanRequest, PlanResponse
from service.plan_cache import plan_for
from service.prediction import predicted_all

router = APIRouter(tags=["plan"])


@router.post("/plan", response_model=PlanResponse, response_model_exclude_unset=True,
             responses=problems(*POST_GUARD, 422), summary="Plan a scaled model (analytic complexity, no profiling)")
def plan(req: PlanRequest, c: Ctx) -> dict:
    plan = plan_for(req.plan_kwargs())
    return {**plan, "predicted": predicted_all(c.predictor, plan["complexity"])}
