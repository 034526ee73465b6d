"""What every route needs: settings, Redis clients (sync and async), the store, the metrics."""

from __future__ import annotations

from dataclasses import dataclass

import redis
import redis.asyncio as aredis
from fastapi import Request

from app.metrics import Metrics
from app.record_cache import RecordCache
from app.settings import Settings
from app.store import ProfileStore


@dataclass
class Context:
    settings: Settings
    redis: redis.Redis
    aredis: aredis.Redis
    store: ProfileStore
    metrics: Metrics
    records: RecordCache

    @classmethod
    def connect(cls, settings: Settings) -> "Context":
        if not settings.redis_url:
            raise RuntimeError("REDIS_URL is not set (use `fastscale serve` for the embedded default)")
        opts = {"socket_timeout": 5, "socket_connect_timeout": 2, "health_check_interval": 10}
        client = redis.Redis.from_url(settings.redis_url, **opts)
        aclient = aredis.Redis.from_url(settings.redis_url, **opts)
        store = ProfileStore(client, settings.key_prefix, settings.result_ttl_s, settings.failure_ttl_s)
        metrics = Metrics()
        metrics.attach_redis(client, settings.key_prefix, store)
        return cls(settings, client, aclient, store, metrics, RecordCache())


async def ctx(request: Request) -> Context:
    """async on purpose: a plain-def dependency is run in the threadpool, on every request."""
    return request.app.state.ctx
