"""Errors as application/problem+json (RFC 9457) that name the field and the fix; never a trace."""

from __future__ import annotations

import logging

import redis
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.queues import NoWorkerError, QueueFullError
from fastscale.errors import ScalingError

log = logging.getLogger("fastscale.api")
MEDIA = "application/problem+json"

FIXES = {
    "extra_forbidden": "remove this field; see the schema at /docs",
    "missing": "add this field",
    "literal_error": "use one of the listed values",
    "float_type": "send a JSON number",
    "int_type": "send a JSON integer",
    "string_type": "send a JSON string",
    "bool_type": "send true or false",
    "finite_number": "send a finite number (no NaN or Infinity)",
    "json_invalid": "send valid JSON",
    "model_attributes_type": "send a JSON object",
    "dict_type": "send a JSON object",
    "list_type": "send a JSON array",
}


def problem(status: int, title: str, detail: str, errors: list | None = None, headers: dict | None = None) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, "errors": errors or []}
    return JSONResponse(body, status_code=status, media_type=MEDIA, headers=headers)


def _field(loc) -> str:
    parts = [str(p) for p in loc if p not in ("body",)]
    out = ""
    for p in parts:
        out += f"[{p}]" if p.isdigit() else (f".{p}" if out else p)
    return out or "body"


def install(app: FastAPI) -> None:
    @app.exception_handler(ScalingError)
    async def scaling_error(_req: Request, exc: ScalingError):
        return problem(422, "Invalid request", str(exc), [exc.to_dict()])

    @app.exception_handler(RequestValidationError)
    async def validation_error(_req: Request, exc: RequestValidationError):
        errors = []
        for e in exc.errors():
            field = _field(e.get("loc", ()))
            errors.append({"field": field, "message": e.get("msg", "invalid"), "allowed": FIXES.get(e.get("type"))})
        detail = "; ".join(f"{e['field']}: {e['message']}" + (f" ({e['allowed']})" if e["allowed"] else "") for e in errors[:5])
        return problem(422, "Invalid request", detail or "invalid request", errors)

    @app.exception_handler(NoWorkerError)
    async def no_worker(_req: Request, exc: NoWorkerError):
        return problem(503, "No worker for this device", str(exc), [{"field": "profile.device", "message": str(exc)}],
                       headers={"Retry-After": "30"})

    @app.exception_handler(QueueFullError)
    async def queue_full(_req: Request, exc: QueueFullError):
        return problem(503, "Queue full", str(exc), headers={"Retry-After": "60"})

    @app.exception_handler(redis.RedisError)
    async def redis_down(_req: Request, exc: redis.RedisError):
        log.warning("redis error: %s", exc)
        return problem(503, "Storage unavailable", "Redis is unreachable; the request was not accepted, retry later",
                       headers={"Retry-After": "5"})

    @app.exception_handler(StarletteHTTPException)
    async def http_error(req: Request, exc: StarletteHTTPException):
        detail = str(exc.detail)
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no endpoint at {req.url.path[:120]!r}; the API is described at /docs"
        elif exc.status_code == 405:
            detail = f"{req.method} is not allowed on {req.url.path[:120]!r}; see /docs"
        return problem(exc.status_code, "Request failed", detail, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def unexpected(_req: Request, exc: Exception):
        log.exception("unhandled error")
        return problem(500, "Internal error", "the server failed to answer; the error is logged")
