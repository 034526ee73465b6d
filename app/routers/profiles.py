"""GET /profile/{id}: status, progress while running, result or error when done; and the scaled
model as a pycls config, or in any export format (GET /profile/{id}/export/{format})."""

from __future__ import annotations

import json
from typing import Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response

from app.deps import Caller, Ctx, ProfileId
from service.access import tenants
from app.documented import YamlResponse, problems
from app.schemas import ProfileRecord
from app.schemas.interop import ExportDocument, ExportFormat
from service.errors import InvalidRequest, NotFound
from service.planning.cache import apycls_yaml
from service.planning.exports import aexports

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


@router.get("/profile/{pid}/export/{fmt}", response_model=ExportDocument, responses={
    200: {"description": "torchvision/timm: the recipe, or with ?as=py the Python snippet that builds it as `model`; "
                         "pycls: {yaml: the config}",
          "content": {"text/x-python": {"schema": {"type": "string"}}}},
    **problems(401, 404, 422, 503)}, summary="The scaled model in a library's format (torchvision, timm, pycls)")
async def profile_export(pid: ProfileId, fmt: ExportFormat, c: Ctx, as_: Literal["json", "py"] = Query(
        "json", alias="as", description="json: the recipe; py: a Python snippet that builds it as `model`.")):
    raw = await c.aredis.get(c.keys.profile(pid))
    if raw is None:
        raise _unknown(pid)
    exported = (await aexports(json.loads(raw)["plan"], [fmt], "format"))[fmt]
    if fmt == "pycls":
        if as_ == "py":
            raise InvalidRequest("pycls has no Python snippet", "as", "json (the config), or format torchvision or timm")
        return JSONResponse(exported)
    if as_ == "py":
        return Response(exported["snippet"], media_type="text/x-python")
    return JSONResponse(exported["recipe"])
