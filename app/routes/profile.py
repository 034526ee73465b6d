"""GET /profile/{id}: status, progress while running, result or error when done."""

from __future__ import annotations

import json

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from app.context import Context, ctx
from app.ids import valid_id
from app.schemas import ProfileRecord
from fastscale.families import spec_from_dict
from fastscale.pycls_yaml import to_yaml

router = APIRouter(tags=["profile"])


@router.get("/profile/{pid}", response_model=None, responses={200: {"model": ProfileRecord}},
            summary="Status and results of a profile")
async def get_profile(pid: str, c: Context = Depends(ctx)):
    if not valid_id(pid):
        raise HTTPException(404, f"no profile {pid[:40]!r}: ids are 32 lowercase hex characters from POST /scale")
    cached = c.records.get(pid)
    if cached is not None:
        return Response(cached, media_type="application/json")
    generation = c.records.generation
    async with c.aredis.pipeline(transaction=False) as pipe:
        raw, progress, ttl_ms = await pipe.get(c.store.key(pid)).get(c.store.progress_key(pid)).pttl(
            c.store.key(pid)).execute()
    if raw is None:
        raise HTTPException(404, f"no profile {pid}: unknown, or expired from the cache")
    record = json.loads(raw)
    if progress is None:
        # The stored document is already the response (links included), written whole by the
        # store; serve its bytes as they are, and keep finished ones in the record cache.
        if record["status"] == "finished":
            c.records.put(pid, raw, ttl_ms, generation)
        return Response(raw, media_type="application/json")
    if record["status"] == "started":
        record["progress"] = json.loads(progress)
    return JSONResponse(record)


@router.get("/profile/{pid}/config.yaml", response_class=PlainTextResponse,
            summary="The scaled model as a pycls config (train it with the reference code base)")
async def profile_config(pid: str, c: Context = Depends(ctx)):
    if not valid_id(pid):
        raise HTTPException(404, f"no profile {pid[:40]!r}: ids are 32 lowercase hex characters from POST /scale")
    raw = await c.aredis.get(c.store.key(pid))
    if raw is None:
        raise HTTPException(404, f"no profile {pid}: unknown, or expired from the cache")
    plan = json.loads(raw)["plan"]
    arch = spec_from_dict(plan["arch"], "plan.arch")
    return PlainTextResponse(to_yaml(arch, plan["resolution"]), media_type="application/yaml")
