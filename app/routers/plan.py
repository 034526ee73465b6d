"""POST /plan: the analytic answer only; nothing is queued.

The route is async: an uncached plan is awaited on the bounded planning executor
(service.planning), so no web-framework thread waits on it.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from app.deps import Ctx
from app.documented import POST_GUARD, problems
from app.schemas import PlanRequest, PlanResponse
from service.plan_cache import aplan_for
from service.prediction import predicted_all

router = APIRouter(tags=["plan"])


@router.post("/plan", response_model=PlanResponse, response_model_exclude_unset=True,
             responses=problems(*POST_GUARD, 422, 429, 503),
             summary="Plan a scaled model (analytic complexity, no profiling)")
async def plan(req: PlanRequest, c: Ctx) -> dict:
    plan = await aplan_for(req.plan_kwargs())
    predicted = await run_in_threadpool(predicted_all, c.predictor, plan)  # reads Redis
    return {**plan, "predicted": predicted}
