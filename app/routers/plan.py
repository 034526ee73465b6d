"""POST /plan: the analytic answer only (plan, predicted times, predicted memory for the request's
``profile``, and with ``pycls_yaml`` the scaled pycls config); nothing is queued.

The route is async: an uncached plan is awaited on the bounded planning executor
(service.planning.executor), so no web-framework thread waits on it.

The answer is the document the service built, encoded by pydantic-core as it is: validating it
against the response model again cost ~0.1 ms of a ~3 ms distinct request (A/B with
bench/api_bench.py --plan-only). PlanResponse still documents it, and tests/app/plan/test_plan_body.py
holds the body to what the response model would have sent: the same values of the same JSON
types (only key order inside an object may differ).
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic_core import to_json

from app.deps import Ctx
from app.documented import POST_GUARD, problems
from app.schemas import PlanRequest, PlanResponse
from service.planning.cache import aplan_memory_for, apycls_yaml
from service.planning.exports import aexports
from service.prediction.predictor import apredicted_all, drop_lookup, version_lookup
from service.profiles.submit import check_batch_size

router = APIRouter(tags=["plan"])


@router.post("/plan", response_model=PlanResponse, response_model_exclude_unset=True,
             responses=problems(*POST_GUARD, 422, 429, 503),
             summary="Plan a scaled model (analytic complexity, no profiling)")
async def plan(req: PlanRequest, c: Ctx) -> Response:
    check_batch_size(req.profile.batch_size, c.settings)
    version = version_lookup(c.predictor, c.aredis)  # its round trip overlaps the planning
    try:
        plan, memory = await aplan_memory_for(req.plan_kwargs(), req.profile.settings())
    except BaseException:
        drop_lookup(version)
        raise
    predicted = await apredicted_all(c.predictor, plan, version)
    exported = {"pycls_yaml": await apycls_yaml(plan)} if req.pycls_yaml else {}
    if req.export:
        exported["exports"] = await aexports(plan, req.export)
    return Response(to_json({**plan, "predicted": predicted, "memory": memory, **exported}),
                    media_type="application/json")
