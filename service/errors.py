"""Every error the service names, each with its HTTP status and title, and one problem renderer.

Errors are answered as ``application/problem+json`` (RFC 9457): ``{type, title, status, detail,
errors: [{field, message, allowed}]}``. ``render`` builds that body for any exception, and both the
FastAPI exception handlers (app.problems) and the pure-ASGI guard (app.middleware) send what it
returns, so an error looks the same wherever it is raised. Service code raises these classes,
never a bare status code; the class name is also what a failed record stores as ``error.type``
(``WorkerLost.code``), so the strings clients match on are spelled once, here.
"""

from __future__ import annotations

import json
import re
from typing import ClassVar

import redis

from fastscale.errors import ScalingError

MEDIA_TYPE = "application/problem+json"


FIELD_CHARS, MESSAGE_CHARS, WORD_CHARS = 100, 300, 100  # what an error may echo: never a whole value
_LONG_WORD = re.compile(r"\S{%d,}" % (WORD_CHARS + 1))


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, and every unbroken run of characters (an echoed value)
    to WORD_CHARS, marked with an ellipsis: errors echo what a client sent, and a client can send
    megabytes."""
    text = _LONG_WORD.sub(lambda m: m.group()[:WORD_CHARS - 1] + "\u2026", text[:limit + WORD_CHARS])
    return text if len(text) <= limit else text[:limit - 1] + "\u2026"


def problem(status: int, title: str, detail: str, errors: list | None = None) -> dict:
    """The problem+json body."""
    return {"type": "about:blank", "title": title, "status": status, "detail": detail, "errors": errors or []}


class ServiceError(Exception):
    """Base of the named errors: ``field`` and ``allowed`` say which input and what would work."""

    status: ClassVar[int] = 500
    title: ClassVar[str] = "Internal error"
    retry_after: ClassVar[int | None] = None
    code: ClassVar[str] = "ServiceError"

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        cls.code = cls.__name__

    def __init__(self, message: str, field: str | None = None, allowed: str | None = None,
                 headers: dict[str, str] | None = None):
        self.message = clip(str(message), MESSAGE_CHARS)
        self.field = clip(str(field), FIELD_CHARS) if field is not None else None
        self.allowed = clip(str(allowed), MESSAGE_CHARS) if allowed is not None else None
        self.extra_headers = headers or {}
        text = f"{self.field}: {self.message}" if field else self.message
        super().__init__(text + (f" (allowed: {self.allowed})" if allowed else ""))

    @property
    def detail(self) -> str:
        return str(self)

    def errors(self) -> list[dict]:
        return [{"field": self.field, "message": self.message, "allowed": self.allowed}] if self.field else []

    def headers(self) -> dict[str, str]:
        out = {"Retry-After": str(self.retry_after)} if self.retry_after is not None else {}
        return {**out, **self.extra_headers}


class InvalidRequest(ServiceError):
    """A request that does not validate (schema or core rules): fix the named field."""

    status, title = 422, "Invalid request"


class LimitExceeded(ServiceError):
    """Valid, but over a configured limit (batch size, budget, resolution, flops, memory)."""

    status, title = 422, "Invalid request"


class NotFound(ServiceError):
    status, title = 404, "Not found"


class NotFinished(ServiceError):
    """The resource exists but what was asked needs it finished (a sweep's plot)."""

    status, title = 409, "Not finished"


class AlreadyDone(ServiceError):
    """The record is already final (finished, failed or cancelled): there is nothing to cancel."""

    status, title = 409, "Already done"


class BodyTooLarge(ServiceError):
    status, title = 413, "Request body too large"


class Unauthorized(ServiceError):
    status, title = 401, "Unauthorized"

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": "ApiKey", **self.extra_headers}


class RateLimited(ServiceError):
    """Too many POSTs this minute; ``Retry-After`` says when the window turns."""

    status, title = 429, "Too many requests"


class NoWorker(ServiceError):
    """No live worker serves the device class right now, but one was seen lately (a restart, a
    deploy): worth retrying, so 503 with Retry-After."""

    status, title, retry_after = 503, "No worker for this device", 30


class PlanningBusy(ServiceError):
    """Every planning slot is taken: the request was not started (a burst of uncached plans)."""

    status, title, retry_after = 429, "Planning at capacity", 1


class PlanningTimeout(ServiceError):
    """A plan did not finish within FASTSCALE_PLAN_TIMEOUT_S (waiting included)."""

    status, title, retry_after = 503, "Planning timed out", 5


class UnknownDevice(ServiceError):
    """No worker of the asked device has been seen lately: waiting would not help, so 422 (a 503
    with Retry-After made clients that honour it loop for ever)."""

    status, title = 422, "No such device"


class NoImplementation(ServiceError):
    """No live worker of the device class has the library ``profile.implementation`` names (the
    ``interop`` extra): waiting would not help, so 422."""

    status, title = 422, "No worker with this implementation"


class QueueFull(ServiceError):
    status, title, retry_after = 503, "Queue full", 60


class StorageUnavailable(ServiceError):
    status, title, retry_after = 503, "Storage unavailable", 5


class RecommendationFailed(ServiceError):
    """Recorded on a recommendation (its GET still answers 200, with status failed)."""

    status, title = 422, "Recommendation failed"


class WorkerLost(ServiceError):
    """Recorded on a profile whose worker died ``max_attempts`` times (never an HTTP answer)."""

    status, title = 503, "Worker lost"


class JobTimeout(ServiceError):
    """Recorded on a profile whose job ran past FASTSCALE_JOB_TIMEOUT_S (never an HTTP answer)."""

    status, title = 504, "Job timed out"


# Why Redis refused (the same words in /readyz and in the 503's detail): unreachable (down, network),
# out of memory (maxmemory with noeviction: Redis's OOM error), persistence failing (an RDB or AOF
# write failed, e.g. a full disk: Redis's MISCONF error, or its -ERR for a failed AOF fsync).
REDIS_CAUSES = {"unreachable": "Redis is unreachable", "out of memory": "Redis is out of memory (maxmemory): it refuses writes",
                "persistence failing": "Redis persistence is failing (disk full or not writable): it refuses writes",
                "error": "Redis refused the request"}


def redis_cause(exc: BaseException) -> str:
    """Which of REDIS_CAUSES a Redis error means."""
    text = str(exc)
    if isinstance(exc, redis.OutOfMemoryError) or text.startswith("OOM"):
        return "out of memory"
    if text.startswith("MISCONF") or "AOF" in text or "persistence" in text.lower():
        return "persistence failing"
    if isinstance(exc, (redis.ConnectionError, redis.TimeoutError, OSError)):
        return "unreachable"
    return "error"


def render(exc: BaseException) -> tuple[int, dict, dict[str, str]]:
    """(status, problem body, headers) for any exception; unknown ones are a 500 without details."""
    if isinstance(exc, redis.RedisError):
        exc = StorageUnavailable(f"{REDIS_CAUSES[redis_cause(exc)]}; the request was not accepted, retry later")
    if isinstance(exc, RecursionError):  # a request value nested past what any code path can walk
        exc = InvalidRequest("nests too deeply to process", "body", "a request a few levels deep")
    if isinstance(exc, ScalingError):
        exc = InvalidRequest(exc.message, exc.field, exc.allowed)
    if not isinstance(exc, ServiceError):
        exc = ServiceError("the server failed to answer; the error is logged")
    return exc.status, problem(exc.status, exc.title, exc.detail, exc.errors()), exc.headers()


def encode(body: dict) -> bytes:
    return json.dumps(body).encode()


class StreamsBusy(ServiceError):
    """This API process holds FASTSCALE_MAX_EVENT_STREAMS open SSE streams: none more until one ends."""

    status, title, retry_after = 503, "Too many event streams", 5
