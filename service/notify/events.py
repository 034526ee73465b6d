"""Live progress as Server-Sent Events (GET /profile/{id}/events, GET /sweep/{id}/events).

Every profile transition and progress update is published on ``Keys.events("profile", id)`` by the
store (service.profiles.transitions). A stream subscribes first and reads the current state second, so
nothing that happens in between is missed; it sends that state at once, then one event per change,
and ends after the final state. Comment lines (``: heartbeat``) keep proxies from closing an idle
stream. Frames:

    event: status     data: the whole document (the first frame, each status change, the last)
    event: progress   data: {"id", "status", "progress"} for a profile; {"id", "status", "done", "total"} for a sweep
    event: error      data: a problem (the record is unknown or expired, or the stream failed)

A stream is closed FASTSCALE_MAX_EVENT_STREAM_S after it opened (with a comment saying so; clients
reconnect, and the first frame is the state again), so a stream for a record that never finishes
does not live for ever. Callback attempts in a document are those of the stream's key only
(service.access.tenants).
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import AsyncIterator

from service.access.tenants import ANYONE, visible
from service.errors import NotFound, problem

FINAL = ("finished", "failed", "cancelled")
SWEEP_THROTTLE_S = 0.5


def frame(event: str, data: dict) -> str:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


async def _profile_document(c, pid: str) -> dict | None:
    raw, progress = await c.aredis.mget(c.keys.profile(pid), c.keys.progress(pid))
    if raw is None:
        return None
    doc = json.loads(raw)
    if doc["status"] == "started" and progress is not None:
        doc["progress"] = json.loads(progress)
    return doc


async def _messages(c, channels: list[str], heartbeat_s: float) -> AsyncIterator[dict | None]:
    """Subscribe, then yield each message's data, or None when a heartbeat is due; return at the
    stream's maximum age."""
    pubsub = c.aredis.pubsub()
    ends = time.monotonic() + c.settings.max_event_stream_s
    try:
        await pubsub.subscribe(*channels)
        yield {"subscribed": True}
        quiet_since = time.monotonic()
        while time.monotonic() < ends:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=min(1.0, heartbeat_s))
            if message is not None:
                quiet_since = time.monotonic()
                yield json.loads(message["data"])
            elif time.monotonic() - quiet_since >= heartbeat_s:
                quiet_since = time.monotonic()
                yield None
    finally:
        await pubsub.aclose()


def _gone(kind: str, rid: str) -> str:
    return frame("error", problem(NotFound.status, NotFound.title, f"no {kind} {rid}: unknown, or expired"))


async def profile_events(c, pid: str, tenant=ANYONE) -> AsyncIterator[str]:
    yield "retry: 2000\n\n"
    async for message in _messages(c, [c.keys.events("profile", pid)], c.settings.events_heartbeat_s):
        if message is None:
            yield ": heartbeat\n\n"
            continue
        if "progress" in message:
            yield frame("progress", {"id": pid, "status": "started", "progress": message["progress"]})
            continue
        doc = await _profile_document(c, pid)
        if doc is None:
            yield _gone("profile", pid)
            return
        yield frame("status", visible(doc, tenant))
        if doc["status"] in FINAL:
            return
    yield ": the stream's maximum age (FASTSCALE_MAX_EVENT_STREAM_S) is reached; reconnect\n\n"


async def sweep_events(c, sid: str, tenant=ANYONE) -> AsyncIterator[str]:
    from service.sweeps.document import load_sweep

    sweep = await asyncio.to_thread(load_sweep, c, sid)  # NotFound before the stream starts: a 404
    channels = [c.keys.events("sweep", sid)] + sorted({c.keys.events("profile", r["profile_id"]) for r in sweep["rows"]})
    yield "retry: 2000\n\n"
    seen, last_at = None, 0.0
    async for message in _messages(c, channels, c.settings.events_heartbeat_s):
        if message is None:
            yield ": heartbeat\n\n"
            continue
        if "progress" in message and time.monotonic() - last_at < SWEEP_THROTTLE_S:
            continue
        last_at = time.monotonic()
        try:
            sweep = await asyncio.to_thread(load_sweep, c, sid)
        except NotFound:
            yield _gone("sweep", sid)
            return
        now = (sweep["status"], sweep["done"])
        if seen is None or sweep["status"] in FINAL:
            yield frame("status", visible(sweep, tenant))
        elif now != seen:
            yield frame("progress", {"id": sid, "status": sweep["status"], "done": sweep["done"], "total": sweep["total"]})
        seen = now
        if sweep["status"] in FINAL:
            return
    yield ": the stream's maximum age (FASTSCALE_MAX_EVENT_STREAM_S) is reached; reconnect\n\n"
