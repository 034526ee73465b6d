"""POST /scale: plan at once, then queue a profiling job (or answer from the cache)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from app.deps import Ctx
from app.documented import POST_GUARD, problems
from app.schemas import Accepted, ProfileRecord, ScaleRequest
from service.plan_cache import plan_for
from service.prediction import predicted_for
from service.callbacks import subscribe, validate_url
from service.submit import submit
from service.summaries import cached_age_s

router = APIRouter(tags=["profile"])


def links(pid: str) -> dict:
    return {"self": f"/profile/{pid}", "config": f"/profile/{pid}/config.yaml"}


@router.post(
    "/scale",
    status_code=202,
    response_model=Accepted,
    summary="Scale a model and queue its profiling",
    responses={200: {"model": ProfileRecord, "description": "Cached result; nothing was queued"},
               **problems(*POST_GUARD, 422, 503)},
)
def scale(req: ScaleRequest, response: Response, c: Ctx):
    callback = validate_url(req.callback_url, c.settings) if req.callback_url else None
    plan = plan_for(req.plan_kwargs())
    sub = submit(c, plan, req.profile.model_dump(mode="json"), req.force)
    if callback:
        subscribe(c, "profile", sub.id, callback)
    if sub.cached:
        return JSONResponse({**sub.record, "links": links(sub.id), "cached": True,
                             "cached_age_s": cached_age_s(sub.record)}, status_code=200)
    response.headers["Location"] = f"/profile/{sub.id}"
    predicted = predicted_for(c.predictor, plan["complexity"], sub.device_class, sub.record["profile"])
    return {"id": sub.id, "status": sub.record["status"], "device_class": sub.device_class, "plan": sub.record["plan"],
            "predicted": predicted, "links": links(sub.id)}
