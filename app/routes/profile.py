"""GET /profile/{id}: status, progress while running, result or error when done."""

from __future__ import annotations

import json

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import JSONResponse

from app.context import Context, ctx
from app.ids import valid_id
from app.schemas import ProfileRecord

router = APIRouter(tags=["profile"])


@router.get("/profile/{pid}", response_model=None, responses={200: {"model": ProfileRecord}},
            summary="Status and results of a profile")
async def get_profile(pid: str, c: Context = Depends(ctx)):
    if not valid_id(pid):
        raise HTTPException(404, f"no profile {pid[:40]!r}: ids are 32 lowercase hex characters from POST /scale")
    raw, progress = await c.aredis.mget(c.store.key(pid), c.store.progress_key(pid))
    if raw is None:
        raise HTTPException(404, f"no profile {pid}: unknown, or expired from the cache")
    record = json.loads(raw)
    if record["status"] == "started" and progress is not None:
        record["progress"] = json.loads(progress)
    record["links"] = {"self": f"/profile/{pid}"}
    # The record was validated when written; skip re-validation on this hot, cached path.
    return JSONResponse(record)
