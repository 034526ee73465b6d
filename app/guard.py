"""The API's front door, as one pure ASGI middleware: body size, API keys, request rate.

- Bodies over ``max_body_bytes`` get 413 (by Content-Length, or while streaming).
- With ``api_key_hashes`` configured, every route except /healthz (and /metrics when public, and
  the schema pages) needs ``X-API-Key``; its SHA-256 is compared in constant time with the
  configured digests: plain keys are never stored, and never logged. Missing or wrong: 401.
- POST requests are rate-limited per key (per client address without auth) with a fixed one-minute
  window counted in Redis, so the limit holds across API replicas: 429 with Retry-After. GETs are
  exempt: they are cheap, mostly served from memory, and polled by clients waiting for results.
  If Redis is unreachable the limiter fails open; routes that need Redis answer 503 anyway.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import redis

OPEN_PATHS = {"/healthz", "/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect"}


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _problem(status: int, title: str, detail: str, headers: list | None = None):
    body = json.dumps({"type": "about:blank", "title": title, "status": status, "detail": detail,
                       "errors": []}).encode()
    return {"type": "http.response.start", "status": status,
            "headers": [(b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode())]
            + (headers or [])}, {"type": "http.response.body", "body": body}


class GuardMiddleware:
    def __init__(self, app, context_getter):
        self.app = app
        self.context_getter = context_getter

    async def _reject(self, send, status, title, detail, headers=None) -> None:
        start, body = _problem(status, title, detail, headers)
        await send(start)
        await send(body)

    def _identity(self, scope, headers, settings) -> tuple[bool, str]:
        """(allowed, identity for rate limiting)."""
        key = headers.get(b"x-api-key")
        if not settings.api_key_hashes:
            return True, f"addr:{(scope.get('client') or ('?',))[0]}"
        if not key:
            return False, ""
        digest = hash_key(key.decode("latin-1"))
        ok = False
        for allowed in settings.api_key_hashes:
            ok |= hmac.compare_digest(digest, allowed)
        return ok, f"key:{digest[:16]}"

    async def __call__(self, scope, receive, send):
        ctx = self.context_getter()
        if scope["type"] != "http" or ctx is None:
            return await self.app(scope, receive, send)
        settings = ctx.settings
        path = scope["path"]
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > settings.max_body_bytes):
            return await self._reject(send, 413, "Request body too large",
                                      f"the body may be at most {settings.max_body_bytes} bytes (FASTSCALE_MAX_BODY_BYTES)")
        open_path = path in OPEN_PATHS or (path == "/metrics" and settings.metrics_public)
        allowed, identity = self._identity(scope, headers, settings)
        if not open_path and not allowed:
            return await self._reject(send, 401, "Unauthorized", "a valid X-API-Key header is required",
                                      [(b"www-authenticate", b"ApiKey")])
        if scope["method"] == "POST" and settings.rate_limit_per_minute > 0 and not open_path:
            window = int(time.time() // 60)
            key = f"{settings.key_prefix}:rate:{identity}:{window}"
            try:
                async with ctx.aredis.pipeline(transaction=True) as pipe:
                    count, _ = await pipe.incr(key).expire(key, 120).execute()
            except redis.RedisError:
                # Fail open: during a Redis outage /plan (pure computation) keeps answering, and
                # routes that need Redis answer 503 themselves.
                count = 0
            if count > settings.rate_limit_per_minute:
                retry = str(60 - int(time.time()) % 60)
                return await self._reject(send, 429, "Too many requests",
                                          f"at most {settings.rate_limit_per_minute} POST requests per minute; retry in {retry} s",
                                          [(b"retry-after", retry.encode())])
        received = 0

        async def limited_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > settings.max_body_bytes:
                    raise BodyTooLarge()
            return message

        try:
            await self.app(scope, limited_receive, send)
        except BodyTooLarge:
            await self._reject(send, 413, "Request body too large", f"the body may be at most {settings.max_body_bytes} bytes")


class BodyTooLarge(Exception):
    pass
