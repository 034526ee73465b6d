"""Whether Redis takes writes, and if not, why: what /readyz reports and the 503s name.

A PING proves only that Redis answers. At maxmemory (noeviction) or with its persistence failing
(a full disk: the last RDB save or AOF write failed) Redis still answers PING and every read, and
refuses every write: the service cannot accept a job, so it is not ready. The probe therefore
writes (a short-lived key under the deployment's prefix) and classifies the error the way the
503s do (service.errors.redis_cause): unreachable, out of memory, persistence failing.
"""

from __future__ import annotations

import time

import redis

from service.errors import REDIS_CAUSES, redis_cause

PROBE_TTL_S = 30


def probe_key(prefix: str) -> str:
    return f"{prefix}:health:probe"


def write_probe(client: redis.Redis, prefix: str) -> tuple[str | None, str]:
    """(None, "ok") when a write succeeds; else (the cause, a short explanation for operators)."""
    try:
        client.set(probe_key(prefix), f"{time.time():.3f}", ex=PROBE_TTL_S)
        return None, "ok"
    except redis.RedisError as exc:
        cause = redis_cause(exc)
        return cause, f"{cause}: {REDIS_CAUSES[cause]} ({type(exc).__name__}: {str(exc)[:120]})"
