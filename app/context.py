"""What every route needs: settings, Redis clients (sync and async), the store, the metrics."""

from __future__ import annotations

from dataclasses import dataclass

import redis
import redis.asyncio as aredis
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import ExponentialBackoff
from redis.backoff import ExponentialBackoff as AsyncBackoff
from redis.retry import Retry
from fastapi import Request

from app.metrics import Metrics
from app.prediction import Predictor
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
    predictor: "Predictor"

    @classmethod
    def connect(cls, settings: Settings) -> "Context":
        if not settings.redis_url:
            raise RuntimeError("REDIS_URL is not set (use `fastscale serve` for the embedded default)")
        # A connection broken by a Redis restart is retried at once on a fresh one, so requests
        # after an outage succeed without a failed first attempt.
        opts = {"socket_timeout": 5, "socket_connect_timeout": 2, "health_check_interval": 10,
                "retry_on_error": [redis.ConnectionError, redis.TimeoutError]}
        client = redis.Redis.from_url(settings.redis_url, retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), 2), **opts)
        aclient = aredis.Redis.from_url(settings.redis_url, retry=AsyncRetry(AsyncBackoff(cap=0.5, base=0.05), 2), **opts)
        store = ProfileStore(client, settings.key_prefix, settings.result_ttl_s, settings.failure_ttl_s)
        metrics = Metrics()
        metrics.attach_redis(client, settings.key_prefix, store)
        return cls(settings, client, aclient, store, metrics, RecordCache(), Predictor(store))


async def ctx(request: Request) -> Context:
    """async on purpose: a plain-def dependency is run in the threadpool, on every request."""
    return request.app.state.ctx
