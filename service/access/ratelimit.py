"""Request limits per client and minute, counted in Redis: POSTs per client, and wrong API keys
per address.

Counting in Redis makes a limit hold across API replicas. A client's identity (an address, or a
key's digest) is hashed before it becomes part of a key name, so no request value (a forwarded
address is whatever a client wrote) reaches Redis as a name. When Redis cannot be asked in time
(down, or every pooled connection busy) the limit fails closed: this process counts on its own,
so an outage or an exhausted pool lets no more through than the limit (per process), and /plan,
which is pure computation, keeps answering within it.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time

import redis

from service.redis.keys import Keys

WINDOW_S = 60
REDIS_WAIT_S = 0.5  # longer than this for a count, and this process counts alone
LOCAL_MAX_CLIENTS = 100_000


def client_digest(identity: str) -> str:
    return hashlib.sha256(identity.encode("utf-8", "surrogateescape")).hexdigest()[:32]


class LocalCounts:
    """The fallback: counts of the current window in this process, for a bounded number of clients."""

    def __init__(self):
        self.window, self.counts = -1, {}
        self.lock = threading.Lock()

    def incr(self, key: str, window: int, by: int = 1) -> int:
        with self.lock:
            if window != self.window:
                self.window, self.counts = window, {}
            if key not in self.counts and len(self.counts) >= LOCAL_MAX_CLIENTS:
                return 1 << 30  # too many clients to track alone: refuse (closed), do not forget
            self.counts[key] = self.counts.get(key, 0) + by
            return self.counts[key]


class RateLimiter:
    def __init__(self, aclient, keys: Keys):
        self.aclient, self.keys = aclient, keys
        self.local = LocalCounts()

    async def _redis(self, key: str, by: int) -> int:
        async with self.aclient.pipeline(transaction=True) as pipe:
            if by:
                count, _ = await pipe.incrby(key, by).expire(key, 2 * WINDOW_S).execute()
            else:
                (count,) = await pipe.get(key).execute()
        return int(count or 0)

    async def count(self, kind: str, identity: str, by: int = 1, now: float | None = None) -> int:
        """Add ``by`` requests of ``identity`` to this window's ``kind`` count; the count so far."""
        window = int((time.time() if now is None else now) // WINDOW_S)
        key = self.keys.rate(f"{kind}:{client_digest(identity)}", window)
        try:
            return await asyncio.wait_for(self._redis(key, by), REDIS_WAIT_S)
        except (redis.RedisError, OSError, asyncio.TimeoutError):
            return self.local.incr(key, window, by)


def retry_after_s(now: float | None = None) -> int:
    """Seconds until the current window ends."""
    now = time.time() if now is None else now
    return WINDOW_S - int(now) % WINDOW_S


async def auth_throttled(limiter: RateLimiter, address: str, settings):
    """RateLimited (429) for an address that sent too many wrong keys this minute, else None: the
    one failure throttle of every place that checks a key (API routes, /readyz, /ui, its login).
    Checked before the key, so a throttled guesser learns nothing from the answer."""
    from service.errors import RateLimited

    most = settings.auth_failures_per_minute
    if most > 0 and await limiter.count("authfail", address, by=0) >= most:
        retry = retry_after_s()
        return RateLimited(f"too many wrong API keys from this address (at most {most} a minute, "
                           f"FASTSCALE_AUTH_FAILURES_PER_MINUTE); retry in {retry} s",
                           headers={"Retry-After": str(retry)})
    return None


async def count_auth_failure(limiter: RateLimiter, address: str, settings) -> None:
    if settings.auth_failures_per_minute > 0:
        await limiter.count("authfail", address)


def client_address(scope) -> str:
    """The client's address: the peer, or what a trusted proxy said (uvicorn's
    forwarded_allow_ips, FASTSCALE_TRUSTED_PROXIES); never a header from anyone else."""
    return (scope.get("client") or ("?",))[0]


async def over_rate(limiter: RateLimiter, scope, settings) -> bool:
    """Count one request that costs work (a POST; a /ui plan) against its client's minute:
    its key's, or its address's without one."""
    tenant = scope.get("state", {}).get("tenant")
    identity = f"key:{tenant.owner[:16]}" if tenant is not None and tenant.owner else client_address(scope)
    return await limiter.count("post", identity) > settings.rate_limit_per_minute
