"""The asynchronous client (httpx.AsyncClient): the same methods as ``Client``, awaited; listings
and events are async iterators."""

from __future__ import annotations

import asyncio
import time
from typing import AsyncIterator, Callable

import httpx

from fastscale_client import calls
from fastscale_client.calls import Call, Event, SseParser
from fastscale_client.config import default_api_key, default_url
from fastscale_client.errors import ApiError, StreamBroken
from fastscale_client.sync import STREAM_TIMEOUT


class AsyncClient:
    """``async with AsyncClient() as api: await api.scale(...)``."""

    def __init__(self, url: str | None = None, api_key: str | None = None, timeout: float = 30.0,
                 transport: httpx.AsyncBaseTransport | None = None):
        self.url = (url or default_url()).rstrip("/")
        key = api_key or default_api_key()
        self.http = httpx.AsyncClient(base_url=self.url, timeout=timeout, transport=transport,
                                      headers={"X-API-Key": key} if key else {})

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.http.aclose()

    async def _send(self, call: Call):
        r = await self.http.request(call.method, call.path, json=call.json, params=call.params)
        if call.raw and r.status_code < 400:
            return r.content
        return call.parse(r.status_code, calls.check(r.status_code, r.content, r.headers.get("retry-after")))

    async def plan(self, request=None, **fields):
        return await self._send(calls.plan(request, fields))

    async def scale(self, request=None, **fields):
        return await self._send(calls.scale(request, fields))

    async def profile(self, pid: str):
        return await self._send(calls.document("profile", pid))

    async def sweep(self, request=None, **fields):
        return await self._send(calls.sweep(request, fields))

    async def get_sweep(self, sid: str):
        return await self._send(calls.document("sweep", sid))

    async def sweep_plot(self, sid: str, fmt: str = "png") -> bytes:
        return await self._send(calls.plot(sid, fmt))

    async def recommend(self, request=None, **fields):
        return await self._send(calls.recommend(request, fields))

    async def recommendation(self, rid: str):
        return await self._send(calls.document("recommendation", rid))

    async def cancel(self, pid: str, kind: str = "profile"):
        return await self._send(calls.cancel(kind, pid))

    async def _pages(self, kind: str, filters: dict, limit: int, cursor: str | None) -> AsyncIterator:
        while True:
            page = await self._send(calls.page(kind, filters, cursor, limit))
            yield page
            cursor = page.next
            if cursor is None:
                return

    def profiles(self, limit: int = 50, cursor: str | None = None, **filters) -> AsyncIterator:
        return self._pages("profile", filters, limit, cursor)

    def sweeps(self, limit: int = 50, cursor: str | None = None, **filters) -> AsyncIterator:
        return self._pages("sweep", filters, limit, cursor)

    def recommendations(self, limit: int = 50, cursor: str | None = None, **filters) -> AsyncIterator:
        return self._pages("recommendation", filters, limit, cursor)

    async def events(self, rid: str, kind: str = "profile") -> AsyncIterator[Event]:
        async with self.http.stream("GET", f"{calls.PATHS[kind]}/{rid}/events", timeout=STREAM_TIMEOUT) as r:
            if r.status_code >= 400:
                calls.check(r.status_code, await r.aread())
            parser = SseParser()
            async for line in r.aiter_lines():
                event = parser.feed(line)
                if event is not None:
                    yield event
                    if event.final:
                        return
        raise StreamBroken(f"the event stream of {kind} {rid} ended before its final state")

    async def wait(self, rid: str, timeout: float = 3600.0, on_update: Callable[[dict], None] | None = None,
                   poll: float = 0.5, kind: str = "profile"):
        deadline = time.monotonic() + timeout
        if kind in ("profile", "sweep"):
            try:
                async for event in self.events(rid, kind):
                    if on_update:
                        on_update(event.data)
                    if event.final:
                        return calls.parse_document(kind, event.data)
                    if time.monotonic() > deadline:
                        break
            except (httpx.HTTPError, StreamBroken, ValueError):
                pass
            except ApiError as exc:
                if exc.status == 404:
                    raise
        while True:
            doc = await self._send(calls.document(kind, rid))
            if on_update:
                on_update(doc.model_dump(mode="json", exclude_unset=True))
            if doc.status in calls.FINAL or time.monotonic() > deadline:
                return doc
            await asyncio.sleep(poll)

    async def wait_sweep(self, sid: str, timeout: float = 7200.0, on_update=None, poll: float = 0.5):
        return await self.wait(sid, timeout, on_update, poll, kind="sweep")

    async def wait_recommendation(self, rid: str, timeout: float = 7200.0, on_update=None, poll: float = 0.5):
        return await self.wait(rid, timeout, on_update, poll, kind="recommendation")
