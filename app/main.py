"""The FastAPI application: routes per resource, problem+json errors, metrics middleware."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app import problems
from app.context import Context
from app.guard import GuardMiddleware
from app.logs import request_id as request_id_var
from app.recovery import reaper_loop
from app.routes import catalog, ops, plan, profile, recommend, scale, sweep
from app.settings import Settings, get_settings


class MetricsMiddleware:
    """Pure ASGI (cheaper than BaseHTTPMiddleware): request id header, counts and latency per route."""

    def __init__(self, app, context_getter):
        self.app = app
        self.context_getter = context_getter

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        status = {"code": 500}
        headers = dict(scope.get("headers") or [])
        request_id = headers.get(b"x-request-id", b"").decode("latin-1")[:64] or uuid.uuid4().hex
        token = request_id_var.set(request_id)

        async def send_wrapper(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + [(b"x-request-id", request_id.encode("latin-1"))]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            request_id_var.reset(token)
            route = scope.get("route")
            label = getattr(route, "path", None) or "unmatched"
            ctx = self.context_getter()
            if ctx is not None:
                ctx.metrics.observe(label, scope["method"], status["code"], started)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    holder: dict = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        context = Context.connect(settings)
        app.state.ctx = holder["ctx"] = context
        tasks = [asyncio.create_task(context.records.listen(context.aredis, context.store.changed_channel)),
                 asyncio.create_task(reaper_loop(context.store, settings))]
        yield
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await context.aredis.aclose()
        context.redis.close()

    app = FastAPI(
        title="fastscale",
        version="0.1.0",
        summary="Scale CNNs as 'Fast and Accurate Model Scaling' prescribes, and measure what they cost.",
        lifespan=lifespan,
    )
    problems.install(app)
    for module in (plan, scale, profile, sweep, recommend, catalog, ops):
        app.include_router(module.router)
    # Outermost first: metrics and request id see every response, guard rejections included.
    app.add_middleware(GuardMiddleware, context_getter=lambda: holder.get("ctx"))
    app.add_middleware(MetricsMiddleware, context_getter=lambda: holder.get("ctx"))
    return app
