"""GET /predictors: each signature's runtime model, so a platform can see what the service knows."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from app.deps import Ctx
from app.documented import problems
from app.schemas.predictors import Predictors
from fastscale.prediction.runtime_model import TERM_DOCS
from service.prediction.predictor import MIN_POINTS

router = APIRouter(tags=["plan"])


@router.get("/predictors", response_model=Predictors, responses=problems(401, 503),
            summary="Runtime models per signature: features, coefficients, leave-one-out errors")
async def predictors(c: Ctx) -> dict:
    models = await run_in_threadpool(c.predictor.models)  # reads Redis
    return {"models": models, "features": TERM_DOCS, "min_points": MIN_POINTS}
