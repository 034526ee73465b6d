"""POST /scale: plan at once, then queue a profiling job (or answer from the cache)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response
from fastapi.responses import JSONResponse

from app.context import Context, ctx
from app.planning import plan_for
from app.prediction import predicted_for
from app.schemas import Accepted, ProfileRecord, ScaleRequest
from app.submit import submit

router = APIRouter(tags=["profile"])


def links(pid: str) -> dict:
    return {"self": f"/profile/{pid}", "config": f"/profile/{pid}/config.yaml"}


@router.post(
    "/scale",
    status_code=202,
    response_model=Accepted,
    summary="Scale a model and queue its profiling",
    responses={200: {"model": ProfileRecord, "description": "Cached result; nothing was queued"}},
)
def scale(req: ScaleRequest, response: Response, c: Context = Depends(ctx)):
    plan = plan_for(req.plan_kwargs())
    sub = submit(c, plan, req.profile, req.force)
    if sub.cached:
        return JSONResponse({**sub.record, "links": links(sub.id)}, status_code=200)
    response.headers["Location"] = f"/profile/{sub.id}"
    predicted = predicted_for(c, plan["complexity"], sub.device_class, sub.record["profile"])
    return {"id": sub.id, "status": sub.record["status"], "device_class": sub.device_class, "plan": sub.record["plan"],
            "predicted": predicted, "links": links(sub.id)}
