"""Exception handlers: every error leaves the API as application/problem+json (RFC 9457) that
names the field and the fix, built by service.errors.render; never a trace."""

from __future__ import annotations

import logging

import redis
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from fastscale.errors import ScalingError
from service.errors import MEDIA_TYPE, InvalidRequest, ServiceError, clip, problem, render

log = logging.getLogger("fastscale.api")

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


def respond(exc: BaseException) -> JSONResponse:
    status, body, headers = render(exc)
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers or None)


def field_path(loc) -> str:
    """pydantic's error location as the dotted path clients send: profile.modes[0] (a query
    parameter by its name: limit).

    A location can hold a client's own key (an unknown field's name), so every part is clipped.
    """
    out = ""
    parts = (p for i, p in enumerate(loc) if p != "body" and not (i == 0 and p in ("query", "path", "header")))
    for p in (clip(str(p), 40) for p in parts):
        out += f"[{p}]" if p.isdigit() else (f".{p}" if out else p)
    return clip(out, 100) or "body"


def validation_problem(exc: RequestValidationError) -> JSONResponse:
    errors = [{"field": field_path(e.get("loc", ())), "message": clip(str(e.get("msg", "invalid")), 200),
               "allowed": FIXES.get(e.get("type"))} for e in exc.errors()[:20]]
    detail = "; ".join(f"{e['field']}: {e['message']}" + (f" ({e['allowed']})" if e["allowed"] else "")
                       for e in errors[:5])
    body = problem(InvalidRequest.status, InvalidRequest.title, detail or "invalid request", errors)
    return JSONResponse(body, status_code=InvalidRequest.status, media_type=MEDIA_TYPE)


def http_problem(req: Request, exc: StarletteHTTPException) -> JSONResponse:
    """Starlette's own errors (unknown path, wrong method, unreadable body) as problems."""
    if isinstance(exc.__cause__, ServiceError):  # e.g. BodyTooLarge raised while the body streamed in
        return respond(exc.__cause__)
    if isinstance(exc.__cause__, RecursionError):  # json.loads gave up on a body nested too deeply
        return respond(InvalidRequest("the JSON body nests too deeply to read", "body",
                                      "a request nests objects and arrays a few levels deep"))
    detail = str(exc.detail)
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"no endpoint at {clip(req.url.path, 100)!r}; the API is described at /docs"
    elif exc.status_code == 405:
        detail = f"{clip(req.method, 20)} is not allowed on {clip(req.url.path, 100)!r}; see /docs"
    return JSONResponse(problem(exc.status_code, "Request failed", detail), status_code=exc.status_code,
                        media_type=MEDIA_TYPE, headers=getattr(exc, "headers", None))


def install(app: FastAPI) -> None:
    async def known(_req: Request, exc: Exception) -> JSONResponse:
        return respond(exc)

    async def redis_down(_req: Request, exc: redis.RedisError) -> JSONResponse:
        log.warning("redis error: %s", exc)
        return respond(exc)

    async def unexpected(_req: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return respond(exc)

    async def validation(_req: Request, exc: RequestValidationError) -> JSONResponse:
        return validation_problem(exc)

    async def http_error(req: Request, exc: StarletteHTTPException) -> JSONResponse:
        return http_problem(req, exc)

    app.add_exception_handler(ScalingError, known)
    app.add_exception_handler(ServiceError, known)
    app.add_exception_handler(RecursionError, known)  # here, not as a 500: see service.errors.render
    app.add_exception_handler(redis.RedisError, redis_down)
    app.add_exception_handler(RequestValidationError, validation)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)
