"""GET /healthz (process up), /readyz (Redis reachable; workers per device class), /metrics."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from app.context import Context, ctx
from app.queues import queue_depths, workers_by_class

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="The process is up")
async def healthz() -> dict:
    return {"status": "ok"}


@router.get("/readyz", summary="Redis reachable, and live workers per device class")
def readyz(c: Context = Depends(ctx)):
    try:
        c.redis.ping()
        workers = workers_by_class(c.redis, c.settings.key_prefix)
        depths = queue_depths(c.redis, c.settings.key_prefix, workers)
    except Exception as exc:  # noqa: BLE001 - readiness reports, it does not raise
        return JSONResponse({"status": "unavailable", "redis": f"unreachable: {type(exc).__name__}", "workers": {}},
                            status_code=503)
    return {"status": "ready", "redis": "ok", "workers": dict(workers), "queue_depth": depths}


@router.get("/metrics", summary="Prometheus metrics")
def metrics(c: Context = Depends(ctx)) -> Response:
    return Response(generate_latest(c.metrics.registry), media_type=CONTENT_TYPE_LATEST)
