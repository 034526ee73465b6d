"""Callback deliveries, concurrent and bounded, so that no receiver can jam the others (issue 23).

Each API process runs ``delivery_loop``: it starts at most as many due deliveries as it has free
slots (FASTSCALE_CALLBACK_CONCURRENCY), each as its own task. A destination (host and port) holds at
most FASTSCALE_CALLBACK_CONCURRENCY_PER_HOST of them; a delivery claimed while its destination is
full is put back without counting an attempt (after as long as that destination's oldest attempt
has run: 0.1 to 2 s), and a round after one that could start nothing looks ``LOOKAHEAD``
deliveries past its free slots, so a slow or hanging host delays only its own deliveries. One
attempt has one deadline, FASTSCALE_CALLBACK_TIMEOUT_S, for everything: connecting, sending and
the whole answer; of the answer at most ``MAX_ANSWER_BYTES`` are read (a receiver that
answers 200 MB costs this process 4 KB). Any exception in an attempt is a failed attempt of that
delivery, recorded like an HTTP error; nothing one delivery does stops the others. Final-state
events run in their own loop (service.notify.outbox), never behind a delivery.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time

import httpx

from service.notify import callbacks
from service.notify.outbox import claim, now_ms
from service.notify.urls import host_refusal

log = logging.getLogger("fastscale.callbacks")
MAX_ANSWER_BYTES = 4096
BUSY_DELAY_S = (0.1, 2.0)  # a full destination's deliveries wait as long as its oldest attempt has run, within these
LOOKAHEAD = 100


class Dispatcher:
    """The deliveries in flight in this process, by destination host."""

    def __init__(self, c):
        # httpx logs each request's whole URL at INFO, and a callback URL's query may hold the
        # receiver's token: only its warnings are kept (this module logs URLs without the query).
        logging.getLogger("httpx").setLevel(max(logging.getLogger("httpx").level, logging.WARNING))
        self.c = c
        self.active: set[asyncio.Task] = set()
        self.soonest: float | None = None  # seconds until the first delivery put back is due again
        self.jammed = False
        self.per_host: dict[str, list[float]] = {}  # destination -> start times of its attempts in flight
        self.client = httpx.AsyncClient(follow_redirects=False, trust_env=False, timeout=None,
                                        headers={"User-Agent": callbacks.USER_AGENT},
                                        limits=httpx.Limits(max_connections=None, max_keepalive_connections=20))

    def deadline_s(self) -> float:
        """One attempt's whole time; shorter than a claim, so no other process takes it meanwhile."""
        s = self.c.settings
        return min(s.callback_timeout_s, s.outbox_claim_s / 2)

    async def post(self, item: dict) -> tuple[int | None, str | None, bool]:
        """One attempt: (HTTP status or None, error or None, retry worth it?). Never raises."""
        s = self.c.settings
        try:
            host = httpx.URL(item["url"]).host
            refusal = await asyncio.to_thread(host_refusal, host, s.callback_allowed_hosts) \
                if s.callback_allowed_hosts else "callbacks are off (FASTSCALE_CALLBACK_ALLOWED_HOSTS is empty)"
            if refusal:
                return None, refusal, False
            body = item["body"].encode()
            headers = callbacks.signed_headers(s.callback_secret, item, body)
            async with asyncio.timeout(self.deadline_s()):
                async with self.client.stream("POST", item["url"], content=body, headers=headers) as response:
                    read = 0
                    async for chunk in response.aiter_raw():
                        read += len(chunk)
                        if read >= MAX_ANSWER_BYTES:
                            break
        except TimeoutError:
            return None, f"no whole answer within {self.deadline_s():g} s (FASTSCALE_CALLBACK_TIMEOUT_S)", True
        except Exception as exc:  # noqa: BLE001 - any failure is this delivery's failed attempt, no one else's
            return None, f"{type(exc).__name__}: {exc}"[:300], True
        if 200 <= response.status_code < 300:
            return response.status_code, None, False
        note = " (redirects are not followed)" if 300 <= response.status_code < 400 else ""
        return response.status_code, f"HTTP {response.status_code}{note}", True

    async def run_one(self, item: dict, host: str, began: float) -> None:
        try:
            outcome = await self.post(item)
            await asyncio.to_thread(callbacks.settle, self.c, item, *outcome)
        except Exception as exc:  # noqa: BLE001 - Redis failed while settling: the claim lapses, it is retried
            log.warning("callback delivery %s could not be settled: %s", item.get("id"), exc)
        finally:
            self.per_host[host].remove(began)
            if not self.per_host[host]:
                del self.per_host[host]

    def start(self, item: dict) -> bool:
        """Start ``item``'s attempt, unless its destination (host and port) is full (False: the
        caller puts it back)."""
        try:
            url = httpx.URL(item["url"])
            host = f"{url.host.lower()}:{url.port or url.scheme}"
        except Exception:  # noqa: BLE001 - an unsendable URL stored by an older version: it fails alone
            host = "?"
        if len(self.per_host.get(host, ())) >= self.c.settings.callback_concurrency_per_host:
            item["_busy_s"] = time.monotonic() - min(self.per_host[host])
            return False
        began = time.monotonic()
        self.per_host.setdefault(host, []).append(began)
        task = asyncio.create_task(self.run_one(item, host, began))
        self.active.add(task)
        task.add_done_callback(self.active.discard)
        return True

    def claim_due(self, n: int) -> list[dict]:
        """Up to ``n`` due deliveries, claimed; expired or unreadable ones are given up on the way."""
        c = self.c
        dids = claim(c.redis, c.keys.outbox_deliveries, c.settings.outbox_claim_s, n)
        raws = c.redis.mget([c.keys.outbox_delivery(did) for did in dids]) if dids else []
        items = []
        for did, raw in zip(dids, raws):
            try:
                item = json.loads(raw) if raw else None
            except ValueError:
                item = None
            if item is None:
                c.redis.zrem(c.keys.outbox_deliveries, did)
                c.redis.delete(c.keys.outbox_delivery(did))
            elif callbacks.expired(c, item):
                callbacks.give_up(c, item, "given up: older than FASTSCALE_CALLBACK_MAX_AGE_S or past its attempts")
            else:
                items.append(item)
        return items

    def put_back(self, items: list[dict]) -> float | None:
        """Back in the outbox, uncounted: at once, or (a full destination) after as long as that
        destination's oldest attempt has been running, between BUSY_DELAY_S: a fast host's next
        delivery is tried again in 0.1 s, a hanging host's in 2 s."""
        low, high = BUSY_DELAY_S
        delays = {i["id"]: min(high, max(low, i["_busy_s"])) if "_busy_s" in i else 0.0 for i in items}
        if delays:
            now = now_ms()
            self.c.redis.zadd(self.c.keys.outbox_deliveries, {k: now + int(1000 * d) for k, d in delays.items()}, xx=True)
        return min(delays.values(), default=None)

    async def round(self) -> int:
        """Start what the free slots allow; after a jam, look ``LOOKAHEAD`` deliveries past them, so a
        backlog for one full destination at the head of the outbox does not hide the others."""
        free = self.c.settings.callback_concurrency - len(self.active)
        if free <= 0:
            return 0
        # Past the free slots only when the last round started nothing for want of room at its
        # destinations (a jam at the head of the outbox); otherwise the head is what is due.
        items = await asyncio.to_thread(self.claim_due, free + (LOOKAHEAD if self.jammed else 0))
        started, busy, spare = 0, [], []
        for item in items:
            if started >= free:
                spare.append(item)
            elif self.start(item):
                started += 1
            else:
                busy.append(item)
        self.soonest = await asyncio.to_thread(self.put_back, busy + spare)
        self.jammed = bool(busy) and not started
        return started

    async def aclose(self) -> None:
        for task in list(self.active):
            task.cancel()
        await asyncio.gather(*self.active, return_exceptions=True)
        await self.client.aclose()


async def delivery_loop(c) -> None:
    """Run in every API process until cancelled: start due deliveries every ``outbox_poll_s``."""
    dispatcher = Dispatcher(c)
    try:
        while True:
            started = time.monotonic()
            begun = 0
            try:
                begun = await dispatcher.round()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - Redis down: next round
                log.warning("delivery round failed: %s", exc)
            pause = 0.05 if begun else c.settings.outbox_poll_s - (time.monotonic() - started)
            if dispatcher.soonest is not None:  # a full destination's next delivery is due sooner
                pause = min(pause, dispatcher.soonest)
            await asyncio.sleep(max(0.05, pause))
    finally:
        await dispatcher.aclose()
