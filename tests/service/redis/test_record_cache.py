"""The API's record cache with real Redis pub/sub: used only while subscribed, evicted by every
published change, never storing a read that an invalidation overtook, cleared when Redis goes."""

from __future__ import annotations

import asyncio
import time

import redis.asyncio as aredis

from service.redis.embedded import EmbeddedRedis, free_port
from service.redis.keys import Keys
from service.redis.record_cache import RecordCache
from tests.load import scaled


async def until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + scaled(timeout)
    while not condition():
        assert time.monotonic() < deadline, "condition not met"
        await asyncio.sleep(0.02)


def test_cache_follows_invalidations_and_bypasses_itself_without_a_subscription(tmp_path):
    async def scenario():
        server = EmbeddedRedis(tmp_path / "redis", port=free_port()).start()
        client = aredis.Redis.from_url(server.url)
        channel = Keys("t").changed
        cache = RecordCache(max_items=2)
        cache.put("a", b"A", 10_000, cache.generation)
        assert cache.get("a") is None  # not subscribed yet: nothing is trusted
        task = asyncio.create_task(cache.listen(client, channel))
        try:
            await until(lambda: cache.live)
            cache.put("a", b"A", 10_000, cache.generation)
            assert cache.get("a") == b"A"
            stale = cache.generation  # a read that started before the change below
            await client.publish(channel, "a")
            await until(lambda: cache.get("a") is None)
            cache.put("a", b"old", 10_000, stale)
            assert cache.get("a") is None  # the overtaken read is not stored
            for pid in ("x", "y", "z"):
                cache.put(pid, pid.encode(), 10_000, cache.generation)
            assert cache.get("x") is None and cache.get("z") == b"z"  # at most max_items, oldest out
            cache.put("short", b"s", 1, cache.generation)  # the record's own TTL: 1 ms
            await asyncio.sleep(0.01)
            assert cache.get("short") is None
            server.kill()  # Redis gone: messages may be missed, so the cache stops trusting itself
            await until(lambda: not cache.live)
            assert cache.get("z") is None
            server.start()
            await until(lambda: cache.live, timeout=20)  # and resubscribes by itself
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await client.aclose()
            server.stop()

    asyncio.run(scenario())
