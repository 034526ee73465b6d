"""The FastAPI application: one router per resource, problem+json errors, two ASGI middlewares.

``create_app`` only wires things: the services (service.context) are connected in the lifespan,
with the two background tasks every API process runs (the record cache's invalidation listener
and the abandoned-job reaper), and closed on shutdown.
"""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app import docs, openapi, problems, ui
from app.metrics import Metrics
from app.middleware import GuardMiddleware, MetricsMiddleware
from app.routers import cancel, catalog, events, listing, ops, plan, predictors, profiles, recommendations, scale, sweeps
from service.notify.completion import delivery_loop, index_sweep_loop, outbox_loop
from service.context import Services
from service.profiles.recovery import reaper_loop
from service.settings import Settings, get_settings

ROUTERS = (plan, predictors, scale, profiles, sweeps, recommendations, listing, events, cancel, catalog, ops)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    held: dict = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        services = Services.connect(settings)
        metrics = Metrics()
        metrics.attach_redis(services.redis, settings.key_prefix, services.store, settings.worker_ttl_s)
        app.state.services, app.state.metrics = held["services"], held["metrics"] = services, metrics
        tasks = [asyncio.create_task(services.records.listen(services.aredis, services.keys.changed)),
                 asyncio.create_task(reaper_loop(services.store, settings)),
                 asyncio.create_task(outbox_loop(services)), asyncio.create_task(delivery_loop(services)),
                 asyncio.create_task(index_sweep_loop(services))]
        yield
        for task in tasks:
            task.cancel()
        # redis-py's get_message can swallow a cancel that lands as its own timeout expires, so
        # shutdown waits a bounded time instead of forever (the listener also checks cancelling()).
        await asyncio.wait(tasks, timeout=3)
        await services.aclose()

    app = FastAPI(
        title="fastscale",
        version="0.1.0",
        summary="Scale CNNs as 'Fast and Accurate Model Scaling' prescribes, and measure what they cost.",
        lifespan=lifespan,
        docs_url=None,  # app.docs serves them with local assets
        redoc_url=None,
    )
    problems.install(app)
    for module in ROUTERS:
        app.include_router(module.router)
    openapi.install(app)
    docs.install(app)
    ui.install(app)
    # Outermost first: metrics and request id see every response, guard rejections included.
    app.add_middleware(GuardMiddleware, services_getter=lambda: held.get("services"))
    app.add_middleware(MetricsMiddleware, metrics_getter=lambda: held.get("metrics"))
    return app
