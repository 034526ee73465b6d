"""GET /profile/{id}: status, progress while running, result or error when done; and the scaled
model as a pycls config."""

from __future__ import annotations

import json

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from app.deps import Caller, Ctx, ProfileId
from service.access import tenants
from app.documented import YamlResponse, problems
from app.schemas import ProfileRecord
from service.errors import NotFound
from service.planning.cache import apycls_yaml

router = APIRouter(tags=["profile"])


def _unknown(pid: str) -> NotFound:
    return NotFound(f"no profile {pid}: unknown, or expired from the cache")


@router.get("/profile/{pid}", response_model=None, responses={200: {"model": ProfileRecord}, **problems(401, 404, 503)},
            summary="Status and results of a profile")
async def get_profile(pid: ProfileId, c: Ctx, me: Caller):
    await tenants.arequire(c, me, "profile", pid)
    cached = c.records.get(pid)
    if cached is not None:
        return Response(tenants.visible_bytes(cached, me), media_type="application/json")
    generation = c.records.generation
    key = c.keys.profile(pid)
    async with c.aredis.pipeline(transaction=False) as pipe:
        raw, progress, ttl_ms = await pipe.get(key).get(c.keys.progress(pid)).pttl(key).execute()
    if raw is None:
        raise _unknown(pid)
    record = json.loads(raw)
    if progress is None:
        # The stored document is already the response (links included), written whole by the
        # store; serve its bytes as they are, and keep finished ones in the record cache.
        if record["status"] == "finished":
            c.records.put(pid, raw, ttl_ms, generation)
        return Response(tenants.visible_bytes(raw, me), media_type="application/json")
    if record["status"] == "started":
        record["progress"] = json.loads(progress)
    return JSONResponse(tenants.visible(record, me))


@router.get("/profile/{pid}/config.yaml", response_class=YamlResponse, responses=problems(401, 404, 503),
            summary="The scaled model as a pycls config (train it with the reference code base)")
async def profile_config(pid: ProfileId, c: Ctx, me: Caller):
    await tenants.arequire(c, me, "profile", pid)
    raw = await c.aredis.get(c.keys.profile(pid))
    if raw is None:
        raise _unknown(pid)
    return YamlResponse(await apycls_yaml(json.loads(raw)["plan"]))
