"""POST /recommend, GET /recommend/{id}: choices backed by real measurements."""

from __future__ import annotations

import json

from fastapi import APIRouter, Depends, HTTPException, Response

from app.context import Context, ctx
from app.ids import valid_id
from app.recommend import rec_key, start_or_resume
from app.schemas import RecommendRequest

router = APIRouter(tags=["recommend"])


@router.post("/recommend", status_code=202, summary="Recommend a strategy (target_flops) or a factor (latency_budget_ms)")
def recommend(req: RecommendRequest, response: Response, c: Context = Depends(ctx)) -> dict:
    state = start_or_resume(c, req)
    response.headers["Location"] = f"/recommend/{state['id']}"
    if state["status"] != "running":
        response.status_code = 200
    return state


@router.get("/recommend/{rid}", summary="Progress, evidence and the chosen plan")
def get_recommendation(rid: str, c: Context = Depends(ctx)) -> dict:
    if not valid_id(rid):
        raise HTTPException(404, f"no recommendation {rid[:40]!r}: ids come from POST /recommend")
    raw = c.redis.get(rec_key(c, rid))
    if raw is None:
        raise HTTPException(404, f"no recommendation {rid}: unknown, or expired")
    return json.loads(raw)
