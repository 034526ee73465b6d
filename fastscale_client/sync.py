"""The synchronous client (httpx). See the package docstring and the README for examples."""

from __future__ import annotations

import time
from typing import Callable, Iterator

import httpx

from fastscale_client import calls
from fastscale_client.calls import Call, Event, SseParser
from fastscale_client.config import default_api_key, default_url
from fastscale_client.errors import ApiError, StreamBroken

STREAM_TIMEOUT = httpx.Timeout(10.0, read=60.0)  # the server sends a heartbeat at least every 15 s


class Client:
    """fastscale's API from Python: ``Client(url=None, api_key=None)`` (defaults: FASTSCALE_URL or
    FASTSCALE_HOST/PORT, and FASTSCALE_API_KEY)."""

    def __init__(self, url: str | None = None, api_key: str | None = None, timeout: float = 30.0,
                 transport: httpx.BaseTransport | None = None):
        self.url = (url or default_url()).rstrip("/")
        key = api_key or default_api_key()
        self.http = httpx.Client(base_url=self.url, timeout=timeout, transport=transport,
                                 headers={"X-API-Key": key} if key else {})

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    def _send(self, call: Call):
        r = self.http.request(call.method, call.path, json=call.json, params=call.params)
        if call.raw and r.status_code < 400:
            return r.content
        return call.parse(r.status_code, calls.check(r.status_code, r.content, r.headers.get("retry-after")))

    # ------------------------------------------------------------------ submit and read
    def plan(self, request=None, **fields):
        return self._send(calls.plan(request, fields))

    def scale(self, request=None, **fields):
        """``Accepted`` when queued, or the cached ``ProfileRecord`` (``cached=True``)."""
        return self._send(calls.scale(request, fields))

    def profile(self, pid: str):
        return self._send(calls.document("profile", pid))

    def sweep(self, request=None, **fields):
        return self._send(calls.sweep(request, fields))

    def get_sweep(self, sid: str):
        return self._send(calls.document("sweep", sid))

    def sweep_plot(self, sid: str, fmt: str = "png") -> bytes:
        return self._send(calls.plot(sid, fmt))

    def recommend(self, request=None, **fields):
        return self._send(calls.recommend(request, fields))

    def recommendation(self, rid: str):
        return self._send(calls.document("recommendation", rid))

    def cancel(self, pid: str, kind: str = "profile"):
        """DELETE the profile (or ``kind="sweep"``/``"recommendation"``): the record as answered."""
        return self._send(calls.cancel(kind, pid))

    # ------------------------------------------------------------------ listings
    def _pages(self, kind: str, filters: dict, limit: int, cursor: str | None) -> Iterator:
        while True:
            page = self._send(calls.page(kind, filters, cursor, limit))
            yield page
            cursor = page.next
            if cursor is None:
                return

    def profiles(self, limit: int = 50, cursor: str | None = None, **filters) -> Iterator:
        """Pages (``ProfilePage``: ``items``, ``next``) newest first, following the cursor (from ``cursor``:
        a ``next`` kept from before, to resume)."""
        return self._pages("profile", filters, limit, cursor)

    def sweeps(self, limit: int = 50, cursor: str | None = None, **filters) -> Iterator:
        return self._pages("sweep", filters, limit, cursor)

    def recommendations(self, limit: int = 50, cursor: str | None = None, **filters) -> Iterator:
        return self._pages("recommendation", filters, limit, cursor)

    # ------------------------------------------------------------------ live progress and waiting
    def events(self, rid: str, kind: str = "profile") -> Iterator[Event]:
        """Server-Sent Events of a profile or sweep until its final state (``Event.final``)."""
        with self.http.stream("GET", f"{calls.PATHS[kind]}/{rid}/events", timeout=STREAM_TIMEOUT) as r:
            if r.status_code >= 400:
                calls.check(r.status_code, r.read())
            parser = SseParser()
            for line in r.iter_lines():
                event = parser.feed(line)
                if event is not None:
                    yield event
                    if event.final:
                        return
        raise StreamBroken(f"the event stream of {kind} {rid} ended before its final state")

    def wait(self, rid: str, timeout: float = 3600.0, on_update: Callable[[dict], None] | None = None,
             poll: float = 0.5, kind: str = "profile"):
        """The document once final (or as it is when ``timeout`` passes): from the event stream,
        falling back to polling if the stream breaks; ``on_update`` sees every state."""
        deadline = time.monotonic() + timeout
        if kind in ("profile", "sweep"):
            try:
                for event in self.events(rid, kind):
                    if on_update:
                        on_update(event.data)
                    if event.final:
                        return calls.parse_document(kind, event.data)
                    if time.monotonic() > deadline:
                        break
            except (httpx.HTTPError, StreamBroken, ValueError):
                pass  # the stream broke: polling below is slower but always works
            except ApiError as exc:
                if exc.status == 404:
                    raise
        return self._poll(kind, rid, deadline, on_update, poll)

    def wait_sweep(self, sid: str, timeout: float = 7200.0, on_update=None, poll: float = 0.5):
        return self.wait(sid, timeout, on_update, poll, kind="sweep")

    def wait_recommendation(self, rid: str, timeout: float = 7200.0, on_update=None, poll: float = 0.5):
        return self.wait(rid, timeout, on_update, poll, kind="recommendation")

    def _poll(self, kind: str, rid: str, deadline: float, on_update, poll: float):
        while True:
            doc = self._send(calls.document(kind, rid))
            if on_update:
                on_update(doc.model_dump(mode="json", exclude_unset=True))
            if doc.status in calls.FINAL or time.monotonic() > deadline:
                return doc
            time.sleep(poll)
