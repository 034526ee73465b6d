"""GET /healthz (process up), /readyz (Redis takes writes, or why not; workers per device class), /metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from app.deps import Ctx, MetricsDep
from app.documented import PrometheusResponse, problems
from app.schemas import Health, Readiness
from service.device_defaults import all_defaults
from service.errors import redis_cause
from service.redis.health import write_probe
from service.redis.queues import queue_depths, workers_by_class

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=Health, response_model_exclude_none=True, responses={503: {"model": Health, "description": "The embedded Redis "
            "of `fastscale serve` has been down past FASTSCALE_REDIS_DOWN_UNHEALTHY_S"}}, summary="The process is up")
async def healthz(request: Request, c: Ctx):
    keeper = getattr(request.app.state, "redis_keeper", None)  # set by `fastscale serve` (embedded Redis)
    down = keeper.down_for() if keeper is not None else 0.0
    if down > c.settings.redis_down_unhealthy_s:
        return JSONResponse({"status": "unhealthy", "redis": f"the embedded redis-server has been down {down:.0f} s "
                             "and does not restart"}, status_code=503)
    return {"status": "ok"}


@router.get("/readyz", response_model=Readiness, response_model_exclude_unset=True,
            responses={503: {"model": Readiness, "description": "Redis unreachable, out of memory or its persistence "
                                                                "failing (a write probe: writes would fail)"}},
            summary="Redis takes writes, and (with an API key, when keys are configured) live workers per device class")
def readyz(request: Request, c: Ctx):
    cause, redis_state = write_probe(c.redis, c.settings.key_prefix)
    if cause is not None:
        return JSONResponse({"status": "unavailable", "redis": redis_state, "cause": cause}, status_code=503)
    try:
        if not getattr(request.state, "authenticated", True):  # a health check without a key
            return {"status": "ready", "redis": "ok"}
        workers = workers_by_class(c.redis, c.settings.key_prefix, c.settings.worker_ttl_s)
        depths = queue_depths(c.redis, c.settings.key_prefix, workers)
    except Exception as exc:  # noqa: BLE001 - readiness reports, it does not raise
        cause = redis_cause(exc)
        return JSONResponse({"status": "unavailable", "redis": f"{cause}: {type(exc).__name__}", "cause": cause},
                            status_code=503)
    return {"status": "ready", "redis": "ok", "workers": dict(workers), "queue_depth": depths,
            "device_defaults": all_defaults(c.settings)}


@router.get("/metrics", response_class=PrometheusResponse, responses=problems(401),
            summary="Prometheus metrics")
def metrics(m: MetricsDep) -> Response:
    return Response(generate_latest(m.registry), media_type=CONTENT_TYPE_LATEST)
