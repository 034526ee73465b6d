"""The API's two middlewares, both pure ASGI (cheaper than BaseHTTPMiddleware on every request).

``MetricsMiddleware`` (outermost): a request id for every request (``X-Request-ID`` when it is a
short printable token, else one is made), echoed on the response and put in the logs' context; counts and latency per route.

``GuardMiddleware``, the front door: body size, API keys, request rate.
- Bodies over ``max_body_bytes`` get 413 (by Content-Length, or while streaming).
- With ``api_key_hashes`` configured, every route except /healthz and /readyz (and /metrics when
  public, and the schema pages) needs ``X-API-Key``; /readyz lists workers only to a valid key (service.access.auth compares digests). Missing or wrong: 401.
- POST requests are rate-limited per key (per client address without auth) in Redis
  (service.access.ratelimit): 429 with Retry-After. GETs are exempt: they are cheap, mostly served from
  memory, and polled by clients waiting for results. Wrong API keys are limited per address, on
  every route: past FASTSCALE_AUTH_FAILURES_PER_MINUTE the address gets 429 whatever key it sends.
  If Redis cannot count in time, this process counts alone (fails closed).
Rejections are the same problem+json documents the exception handlers send (service.errors).
"""

from __future__ import annotations

import time

from service.access.auth import key_allowed, key_identity
from service.errors import BodyTooLarge, RateLimited, ServiceError, Unauthorized, encode, render
from service.logs import clean_request_id, request_id as request_id_var
from service.access.ratelimit import RateLimiter, retry_after_s

OPEN_PATHS = {"/healthz", "/readyz", "/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect"}
# The docs' local assets, and the results page, which checks keys itself (header, or its login
# cookie for GETs; its login form throttles wrong keys like the guard) so that a browser without
# one is sent to its login form rather than a 401.
OPEN_PREFIXES = ("/static/", "/ui")


async def send_problem(send, exc: ServiceError) -> None:
    status, body, headers = render(exc)
    payload = encode(body)
    raw_headers = [(b"content-type", b"application/problem+json"), (b"content-length", str(len(payload)).encode())]
    raw_headers += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": payload})


class MetricsMiddleware:
    def __init__(self, app, metrics_getter):
        self.app = app
        self.metrics_getter = metrics_getter

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        status = {"code": 500}
        headers = dict(scope.get("headers") or [])
        request_id = clean_request_id(headers.get(b"x-request-id"))
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
            label = getattr(scope.get("route"), "path", None) or "unmatched"
            metrics = self.metrics_getter()
            if metrics is not None:
                metrics.observe(label, scope["method"], status["code"], started)


class GuardMiddleware:
    def __init__(self, app, services_getter):
        self.app = app
        self.services_getter = services_getter
        self.limiter: RateLimiter | None = None

    @staticmethod
    def _address(scope) -> str:
        """The client's address: the peer, or what a trusted proxy said (uvicorn's
        forwarded_allow_ips, FASTSCALE_TRUSTED_PROXIES); never a header from anyone else."""
        return (scope.get("client") or ("?",))[0]

    async def _key_refusal(self, scope, headers, settings) -> ServiceError | None:
        """401 for a missing or wrong key; 429 for an address that sent too many wrong keys this
        minute, checked before its key so a throttled guesser learns nothing from the answer."""
        address, most = self._address(scope), settings.auth_failures_per_minute
        if most > 0 and await self.limiter.count("authfail", address, by=0) >= most:
            retry = retry_after_s()
            return RateLimited(f"too many wrong API keys from this address (at most {most} a minute, "
                               f"FASTSCALE_AUTH_FAILURES_PER_MINUTE); retry in {retry} s",
                               headers={"Retry-After": str(retry)})
        key = headers.get(b"x-api-key")
        if key and key_allowed(key.decode("latin-1"), settings.api_key_hashes):
            return None
        if key and most > 0:
            await self.limiter.count("authfail", address)
        return Unauthorized("a valid X-API-Key header is required")

    async def _refusal(self, scope, headers, services) -> ServiceError | None:
        """The error to answer instead of the app, or None to let the request through."""
        settings = services.settings
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > settings.max_body_bytes):
            return BodyTooLarge(f"the body may be at most {settings.max_body_bytes} bytes (FASTSCALE_MAX_BODY_BYTES)")
        path = scope["path"]
        if path in OPEN_PATHS or path.startswith(OPEN_PREFIXES) or (path == "/metrics" and settings.metrics_public):
            # /readyz is open for health checks (which carry no key) but shows the fleet only to a key.
            key = headers.get(b"x-api-key")
            scope.setdefault("state", {})["authenticated"] = not settings.api_key_hashes or bool(
                key and key_allowed(key.decode("latin-1"), settings.api_key_hashes))
            return None
        if settings.api_key_hashes and (refusal := await self._key_refusal(scope, headers, settings)):
            return refusal
        if scope["method"] == "POST" and settings.rate_limit_per_minute > 0:
            key = headers.get(b"x-api-key")
            identity = key_identity(key.decode("latin-1")) if settings.api_key_hashes else self._address(scope)
            if await self.limiter.count("post", identity) > settings.rate_limit_per_minute:
                retry = retry_after_s()
                return RateLimited(f"at most {settings.rate_limit_per_minute} POST requests per minute; "
                                   f"retry in {retry} s", headers={"Retry-After": str(retry)})
        return None

    async def __call__(self, scope, receive, send):
        services = self.services_getter()
        if scope["type"] != "http" or services is None:
            return await self.app(scope, receive, send)
        if self.limiter is None or self.limiter.aclient is not services.aredis:
            self.limiter = RateLimiter(services.aredis, services.keys)
        refusal = await self._refusal(scope, dict(scope.get("headers") or []), services)
        if refusal is not None:
            return await send_problem(send, refusal)
        limit = services.settings.max_body_bytes
        received = 0

        async def limited_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(f"the body may be at most {limit} bytes")
            return message

        try:
            await self.app(scope, limited_receive, send)
        except BodyTooLarge as exc:
            await send_problem(send, exc)
