"""GET /healthz (process up), /readyz (Redis reachable; workers per device class), /metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from app.deps import Ctx, MetricsDep
from app.documented import PrometheusResponse, problems
from app.schemas import Health, Readiness
from service.redis.queues import queue_depths, workers_by_class

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=Health, summary="The process is up")
async def healthz() -> dict:
    return {"status": "ok"}


@router.get("/readyz", response_model=Readiness, response_model_exclude_unset=True,
            responses={503: {"model": Readiness, "description": "Redis unreachable"}},
            summary="Redis reachable, and (with an API key, when keys are configured) live workers per device class")
def readyz(request: Request, c: Ctx):
    try:
        c.redis.ping()
        if not getattr(request.state, "authenticated", True):  # a health check without a key
            return {"status": "ready", "redis": "ok"}
        workers = workers_by_class(c.redis, c.settings.key_prefix, c.settings.worker_ttl_s)
        depths = queue_depths(c.redis, c.settings.key_prefix, workers)
    except Exception as exc:  # noqa: BLE001 - readiness reports, it does not raise
        return JSONResponse({"status": "unavailable", "redis": f"unreachable: {type(exc).__name__}"},
                            status_code=503)
    return {"status": "ready", "redis": "ok", "workers": dict(workers), "queue_depth": depths}


@router.get("/metrics", response_class=PrometheusResponse, responses=problems(401),
            summary="Prometheus metrics")
def metrics(m: MetricsDep) -> Response:
    return Response(generate_latest(m.registry), media_type=CONTENT_TYPE_LATEST)
