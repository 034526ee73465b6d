"""POST /scale: plan at once, then queue a profiling job (or answer from the cache)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from app.deps import Caller, Ctx
from service.access import tenants
from app.documented import POST_GUARD, problems
from app.schemas import Accepted, ProfileRecord, ScaleRequest
from service.planning.cache import aplan_for
from service.planning.exports import aexports
from service.prediction.predictor import predicted_for
from service.notify.callbacks import subscribe, validate_url
from service.profiles.submit import submit
from service.listing.summaries import cached_age_s

router = APIRouter(tags=["profile"])


def links(pid: str) -> dict:
    return {"self": f"/profile/{pid}", "config": f"/profile/{pid}/config.yaml"}


@router.post(
    "/scale",
    status_code=202,
    response_model=Accepted,
    summary="Scale a model and queue its profiling",
    responses={200: {"model": ProfileRecord, "description": "Cached result; nothing was queued"},
               **problems(*POST_GUARD, 422, 429, 503)},
)
async def scale(req: ScaleRequest, response: Response, c: Ctx, me: Caller):
    # A callback URL is checked first (it may resolve a name, so off the event loop), then the plan
    # is made on the planning executor, not a request thread.
    callback = await run_in_threadpool(validate_url, req.callback_url, c.settings) if req.callback_url else None
    plan = await aplan_for(req.plan_kwargs())
    exports = await aexports(plan, req.export)
    return await run_in_threadpool(_submit, req, plan, callback, response, c, me, exports)


def _submit(req: ScaleRequest, plan: dict, callback, response: Response, c: Ctx, me: tenants.Tenant, exports: dict):
    sub = submit(c, plan, req.profile.model_dump(mode="json"), req.force)
    tenants.record_interest(c, me, "profile", sub.id, None if sub.cached else sub.record["run"],
                            sub.record.get("created_at"))
    if callback:
        subscribe(c, "profile", sub.id, callback, owner=me.owner)
    extra = {"exports": exports} if exports else {}
    if sub.cached:  # 200 with the record, and where it lives, as a 202 says where it will
        return JSONResponse({**tenants.visible(sub.record, me), "links": links(sub.id), "cached": True,
                             "cached_age_s": cached_age_s(sub.record), **extra}, status_code=200,
                            headers={"Location": f"/profile/{sub.id}"})
    response.headers["Location"] = f"/profile/{sub.id}"
    predicted = predicted_for(c.predictor, plan, sub.device_class, sub.record["profile"])
    return {"id": sub.id, "status": sub.record["status"], "device_class": sub.device_class, "plan": sub.record["plan"],
            "predicted": predicted, "links": links(sub.id), **extra}
