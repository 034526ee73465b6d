"""The POST rate limit: a fixed one-minute window per client, counted in Redis.

Counting in Redis makes the limit hold across API replicas. If Redis is unreachable the count is
0 (fail open): /plan, which is pure computation, keeps answering during an outage, and routes
that need Redis answer 503 themselves.
"""

from __future__ import annotations

import time

import redis

from service.keys import Keys

WINDOW_S = 60


async def count_request(aclient, keys: Keys, identity: str, now: float | None = None) -> int:
    """Count one request of ``identity`` in the current window; the count so far (0 if Redis is down)."""
    now = time.time() if now is None else now
    key = keys.rate(identity, int(now // WINDOW_S))
    try:
        async with aclient.pipeline(transaction=True) as pipe:
            count, _ = await pipe.incr(key).expire(key, 2 * WINDOW_S).execute()
    except redis.RedisError:
        return 0
    return count


def retry_after_s(now: float | None = None) -> int:
    """Seconds until the current window ends."""
    now = time.time() if now is None else now
    return WINDOW_S - int(now) % WINDOW_S
