"""POST /scale: plan at once, then queue a profiling job (or answer from the cache)."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from app.context import Context, ctx
from app.ids import profile_id
from app.planning import plan_for
from app.queues import enqueue_profile, resolve_device_class, workers_by_class
from app.schemas import Accepted, ProfileRecord, ScaleRequest
from fastscale.errors import ScalingError

router = APIRouter(tags=["profile"])
log = logging.getLogger("fastscale.api")


def profile_settings(req: ScaleRequest, c: Context) -> dict:
    p, s = req.profile, c.settings
    if p.batch_size > s.max_batch_size:
        raise ScalingError("profile.batch_size", f"{p.batch_size} is over the limit", f"1..{s.max_batch_size}")
    budget = p.time_budget_s if p.time_budget_s is not None else s.default_time_budget_s
    if budget > s.max_time_budget_s:
        raise ScalingError("profile.time_budget_s", f"{budget:g} s is over the limit", f"up to {s.max_time_budget_s:g} s")
    return {"batch_size": p.batch_size, "modes": p.modes, "dtype": p.dtype, "channels_last": p.channels_last,
            "time_budget_s": float(budget), "cuda_graphs": p.cuda_graphs, "find_max_batch": p.find_max_batch}


def links(pid: str) -> dict:
    return {"self": f"/profile/{pid}"}


@router.post(
    "/scale",
    status_code=202,
    response_model=Accepted,
    summary="Scale a model and queue its profiling",
    responses={200: {"model": ProfileRecord, "description": "Cached result; nothing was queued"}},
)
def scale(req: ScaleRequest, request: Request, response: Response, c: Context = Depends(ctx)):
    plan = plan_for(req.plan_kwargs())
    profile = profile_settings(req, c)
    device_class = resolve_device_class(req.profile.device, workers_by_class(c.redis, c.settings.key_prefix))
    if profile["cuda_graphs"] and not device_class.startswith("cuda"):
        raise ScalingError("profile.cuda_graphs", f"needs a cuda device, but this request runs on {device_class}",
                           "set profile.device to cuda, or cuda_graphs to false")
    pid = profile_id(plan, profile, device_class)
    base = {"plan": plan, "profile": profile, "device_class": device_class}
    record, enqueue = c.store.claim(pid, base, force=req.force)
    if record["status"] == "finished" and not enqueue:
        c.metrics.cache.labels("hit").inc()
        c.store.count("cache_hits")
        return JSONResponse({**record, "links": links(pid)}, status_code=200)
    if enqueue:
        c.metrics.cache.labels("miss").inc()
        c.store.count("cache_misses")
        job = {**base, "id": pid, "run": record["run"], "attempt": record["attempt"],
               "request_id": request.headers.get("x-request-id")}
        try:
            enqueue_profile(c.redis, c.settings.key_prefix, job, timeout=c.settings.job_timeout_s,
                            result_ttl=c.settings.rq_result_ttl_s, failure_ttl=c.settings.failure_ttl_s)
        except Exception:
            c.store.forget(pid, record["run"])
            raise
        log.info("queued profile %s run %s on %s", pid, record["run"], device_class)
    response.headers["Location"] = f"/profile/{pid}"
    return {"id": pid, "status": record["status"], "device_class": device_class, "plan": record["plan"], "links": links(pid)}
