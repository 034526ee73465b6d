"""The API's two middlewares, both pure ASGI (cheaper than BaseHTTPMiddleware on every request).

``MetricsMiddleware`` (outermost): a request id for every request (``X-Request-ID`` when it is a
short printable token, else one is made), echoed on the response and put in the logs' context; counts and latency per route.

``GuardMiddleware``, the front door: body size, API keys, request rate.
- Bodies over ``max_body_bytes`` get 413 (by Content-Length, or while streaming).
- With ``api_key_hashes`` configured, every route except /healthz and /readyz (and /metrics when
  public, and the schema pages) needs ``X-API-Key``; /readyz lists workers only to a valid key
  (service.access.auth compares digests), and /ui takes its session cookie too (app.ui.auth). Missing or
  wrong: 401. The caller's key hash becomes the request's tenant (service.access.tenants).
- One failure throttle for every place that checks a key (issue 23): API routes, /readyz, /ui and
  its login form count wrong keys (and unknown session tokens) against the same per-address budget,
  and an address past it gets 429 wherever it presents a key, the right one included.
- POST requests are rate-limited per key (per client address without auth) in Redis
  (service.access.ratelimit): 429 with Retry-After. GETs are exempt: they are cheap, mostly served from
  memory, and polled by clients waiting for results. Wrong API keys are limited per address, on
  every route: past FASTSCALE_AUTH_FAILURES_PER_MINUTE the address gets 429 whatever key it sends.
  If Redis cannot count in time, this process counts alone (fails closed).
Rejections are the same problem+json documents the exception handlers send (service.errors).
"""

from __future__ import annotations

import time

from service.access.auth import digest_allowed, hash_key
from service.access.sessions import session_digest, session_token
from service.access.tenants import ANYONE, Tenant
from service.errors import BodyTooLarge, RateLimited, ServiceError, Unauthorized, encode, render
from service.logs import clean_request_id, request_id as request_id_var
from service.access.ratelimit import RateLimiter, auth_throttled, client_address, count_auth_failure, over_rate, retry_after_s

OPEN_PATHS = {"/healthz", "/readyz", "/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect"}
# The docs' local assets, and the results page, which checks keys itself (header, or its login
# cookie for GETs; its login form throttles wrong keys like the guard) so that a browser without
# one is sent to its login form rather than a 401.
OPEN_PREFIXES = ("/static/", "/ui")


# No page of this server may be framed by another (clickjacking), and no answer sniffed into
# another type; /ui, which has no scripts at all, also allows none (issue 23).
FRAMING = [(b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY")]
UI_POLICY = (b"default-src 'none'; img-src 'self'; style-src 'self' 'unsafe-inline'; form-action 'self'; "
             b"frame-ancestors 'none'; base-uri 'none'")


def security_headers(path: str) -> list[tuple[bytes, bytes]]:
    policy = UI_POLICY if path.startswith("/ui") else b"frame-ancestors 'none'"
    extra = [(b"referrer-policy", b"same-origin")] if path.startswith("/ui") else []
    return FRAMING + [(b"content-security-policy", policy)] + extra


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
                message["headers"] = list(message["headers"]) + [(b"x-request-id", request_id.encode("latin-1"))] + \
                    security_headers(scope["path"])
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
        return client_address(scope)

    async def _caller(self, scope, headers, services, open_path: bool) -> ServiceError | None:
        """Who calls: ``state.tenant`` and ``state.authenticated``; or the refusal (401, 429)."""
        settings, state = services.settings, scope.setdefault("state", {})
        if not settings.api_key_hashes:
            state.update(authenticated=True, tenant=ANYONE)
            return None
        state.update(authenticated=False, tenant=None)
        key = headers.get(b"x-api-key")
        token = session_token(scope, headers) if not key and scope["path"].startswith("/ui") else None
        address = self._address(scope)
        if (key or token or not open_path) and (refusal := await auth_throttled(self.limiter, address, settings)):
            return refusal
        hashes = settings.api_key_hashes + settings.admin_key_hashes
        digest = hash_key(key.decode("latin-1")) if key else (await session_digest(services, token) if token else None)
        if digest and digest_allowed(digest, hashes):
            state.update(authenticated=True, tenant=Tenant(digest, digest_allowed(digest, settings.admin_key_hashes)))
            return None
        if key or token:
            await count_auth_failure(self.limiter, address, settings)
        return None if open_path else Unauthorized("a valid X-API-Key header is required")

    async def _refusal(self, scope, headers, services) -> ServiceError | None:
        """The error to answer instead of the app, or None to let the request through."""
        settings = services.settings
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > settings.max_body_bytes):
            return BodyTooLarge(f"the body may be at most {settings.max_body_bytes} bytes (FASTSCALE_MAX_BODY_BYTES)")
        path = scope["path"]
        # /readyz is open for health checks (which carry no key) but shows the fleet only to a key;
        # /ui sends a browser without one to its login form.
        open_path = path in OPEN_PATHS or path.startswith(OPEN_PREFIXES) or (path == "/metrics" and settings.metrics_public)
        if refusal := await self._caller(scope, headers, services, open_path):
            return refusal
        if scope["method"] == "POST" and settings.rate_limit_per_minute > 0 and not path.startswith("/ui"):
            if await self.over_rate(scope, settings):
                retry = retry_after_s()
                return RateLimited(f"at most {settings.rate_limit_per_minute} POST requests per minute; "
                                   f"retry in {retry} s", headers={"Retry-After": str(retry)})
        return None

    async def over_rate(self, scope, settings) -> bool:
        return await over_rate(self.limiter, scope, settings)

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
