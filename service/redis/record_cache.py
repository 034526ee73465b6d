"""Finished profile documents held in the API process, kept exact by Redis pub/sub invalidation.

Serving a cached GET /profile from Redis costs a round trip that is as long as the whole bare
request; finished documents change only when re-measured (force) or expired, so the API keeps
their bytes in memory. Correctness rests on three rules:
  - every record transition publishes the id on ``<prefix>:changed`` inside the same MULTI as the
    change (service.profiles.store), and the listener evicts it;
  - the cache is used only while the subscription is confirmed; on any error it is cleared and
    bypassed until the listener has re-subscribed (messages may have been missed meanwhile);
  - a read that started before an invalidation may not store what it read (generation check).
Entries also expire with the record's own TTL and after ``max_age_s`` at the latest.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict

log = logging.getLogger("fastscale.api")


class RecordCache:
    def __init__(self, max_items: int = 10_000, max_age_s: float = 300.0):
        self.items: OrderedDict[str, tuple[bytes, float]] = OrderedDict()
        self.max_items, self.max_age_s = max_items, max_age_s
        self.generation = 0
        self.live = False

    def get(self, pid: str) -> bytes | None:
        if not self.live:
            return None
        item = self.items.get(pid)
        if item is None:
            return None
        if item[1] < time.monotonic():
            self.items.pop(pid, None)
            return None
        return item[0]

    def put(self, pid: str, raw: bytes, ttl_ms: int, generation: int) -> None:
        if not self.live or generation != self.generation:
            return
        ttl = self.max_age_s if ttl_ms is None or ttl_ms < 0 else min(self.max_age_s, ttl_ms / 1000)
        self.items[pid] = (raw, time.monotonic() + ttl)
        self.items.move_to_end(pid)
        while len(self.items) > self.max_items:
            self.items.popitem(last=False)

    def invalidate(self, pid: str) -> None:
        self.generation += 1
        self.items.pop(pid, None)

    def reset(self) -> None:
        self.live = False
        self.generation += 1
        self.items.clear()

    async def listen(self, aclient, channel: str) -> None:
        """Run until cancelled: subscribe, evict on every message, reset on any error."""
        while True:
            pubsub = aclient.pubsub()
            try:
                await pubsub.subscribe(channel)
                while True:
                    message = await pubsub.get_message(timeout=1.0)
                    if asyncio.current_task().cancelling():  # a cancel redis-py swallowed
                        raise asyncio.CancelledError
                    if message is None:
                        continue
                    if message["type"] == "subscribe":
                        self.live = True
                    elif message["type"] == "message":
                        self.invalidate(message["data"].decode())
            except asyncio.CancelledError:
                self.reset()
                raise
            except Exception as exc:  # noqa: BLE001 - Redis down: stop trusting the cache, retry
                if self.live:
                    log.warning("record cache subscription lost (%s); bypassing cache", type(exc).__name__)
                self.reset()
                await asyncio.sleep(1.0)
            finally:
                try:
                    await pubsub.aclose()
                except Exception:  # noqa: BLE001
                    pass
