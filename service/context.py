"""What every request handler and background task of the API process shares: settings, Redis
clients (sync and async, with the same retry policy), the store, the record cache, the predictor.

Built once per process by ``Services.connect``; the FastAPI app hands it to routes through
``app.deps`` and service functions take it as their first argument.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis
import redis.asyncio as aredis
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from service.planning import cache as plan_cache
from service.redis.keys import Keys
from service.prediction.predictor import Predictor
from service.redis.record_cache import RecordCache
from service.settings import Settings
from service.profiles.store import ProfileStore


@dataclass
class Services:
    settings: Settings
    redis: redis.Redis
    aredis: aredis.Redis
    store: ProfileStore
    records: RecordCache
    predictor: Predictor

    @property
    def keys(self) -> Keys:
        return self.store.keys

    @classmethod
    def connect(cls, settings: Settings) -> "Services":
        if not settings.redis_url:
            raise RuntimeError("REDIS_URL is not set (use `fastscale serve` for the embedded default)")
        # A connection broken by a Redis restart is retried at once on a fresh one, so requests
        # after an outage succeed without a failed first attempt.
        opts = {"socket_timeout": 5, "socket_connect_timeout": 2, "health_check_interval": 10,
                "retry_on_error": [redis.ConnectionError, redis.TimeoutError]}
        client = redis.Redis.from_url(settings.redis_url, retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), 2), **opts)
        # A bounded pool that waits for a free connection: a burst queues briefly instead of
        # opening connections until Redis or the file descriptors run out.
        pool = aredis.BlockingConnectionPool.from_url(
            settings.redis_url, retry=AsyncRetry(ExponentialBackoff(cap=0.5, base=0.05), 2),
            max_connections=settings.redis_max_connections, timeout=2, **opts)
        aclient = aredis.Redis.from_pool(pool)
        store = ProfileStore(client, settings.key_prefix, settings.result_ttl_s, settings.failure_ttl_s)
        plan_cache.configure(settings)
        return cls(settings, client, aclient, store, RecordCache(), Predictor(store.points))

    async def aclose(self) -> None:
        await self.aredis.aclose()
        self.redis.close()
