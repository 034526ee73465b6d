"""POST /recommend, GET /recommend/{id}: choices backed by real measurements (the logic and the
records are service.recommendations'."""

from __future__ import annotations

from fastapi import APIRouter, Response

from app.deps import Caller, Ctx, RecommendationId
from service.access import tenants
from app.documented import POST_GUARD, problems
from app.schemas import Recommendation, RecommendRequest
from service.notify.callbacks import subscribe, validate_url
from service.recommendations.runs import get_recommendation as load_recommendation
from service.recommendations.runs import start_or_resume

router = APIRouter(tags=["recommend"])


@router.post("/recommend", status_code=202, response_model=Recommendation, response_model_exclude_unset=True,
             responses={200: {"model": Recommendation, "description": "Already decided: the stored recommendation"},
                        **problems(*POST_GUARD, 422, 503)},
             summary="Recommend a strategy (target_flops) or a factor (latency_budget_ms)")
def recommend(req: RecommendRequest, response: Response, c: Ctx, me: Caller) -> dict:
    callback = validate_url(req.callback_url, c.settings) if req.callback_url else None
    body = req.model_dump(mode="json", exclude={"callback_url"})
    if "modes" not in req.profile.model_fields_set:  # measure only the mode the constraint is on
        body["profile"]["modes"] = [req.mode]
    state = start_or_resume(c, body)
    final = state["status"] in ("finished", "failed", "cancelled")
    tenants.record_interest(c, me, "recommendation", state["id"], None if final else state.get("run", 1),
                            state.get("created_at"))
    if callback:
        subscribe(c, "recommendation", state["id"], callback, owner=me.owner)
    response.headers["Location"] = f"/recommend/{state['id']}"
    if state["status"] != "running":
        response.status_code = 200
    return tenants.visible(state, me)


@router.get("/recommend/{rid}", response_model=Recommendation, response_model_exclude_unset=True,
            responses=problems(401, 404, 503), summary="Progress, evidence and the chosen plan")
def get_recommendation(rid: RecommendationId, c: Ctx, me: Caller) -> dict:
    tenants.require(c, me, "recommendation", rid)
    state = load_recommendation(c, rid)
    tenants.share_evidence(c, me, state)
    return tenants.visible(state, me)
