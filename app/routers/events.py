"""GET /profile/{id}/events and GET /sweep/{id}/events: live status and progress as Server-Sent
Events, ending after the final state (the stream itself is service.notify.events's). Each stream
takes a slot first (service.notify.streams: 429 per client, 503 in all, before any 200), and only
the record's owners may follow it (service.access.tenants: 404 otherwise)."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from app.deps import Caller, Ctx, ProfileId, SweepId
from app.documented import content, problems
from service.access import tenants
from service.access.ratelimit import client_address
from service.errors import NotFound, problem
from service.notify import events
from service.notify.streams import StreamSlots
from service.sweeps.document import load_sweep

log = logging.getLogger("fastscale.events")

router = APIRouter(tags=["events"])
HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
DESCRIPTION = ("Server-Sent Events: `status` (the whole document: first, at each status change and last) and "
               "`progress`; the stream ends after the final state. Comment lines are heartbeats.")


class EventStream(StreamingResponse):
    media_type = "text/event-stream"


def _slots(request: Request, c) -> StreamSlots:
    slots = getattr(request.app.state, "stream_slots", None)
    if slots is None or slots.total != c.settings.max_event_streams:
        s = c.settings
        slots = request.app.state.stream_slots = StreamSlots(s.max_event_streams, s.max_event_streams_per_client,
                                                             s.max_event_stream_s)
    return slots


async def _held(stream, slots: StreamSlots, slot: int):
    """``stream``, giving its slot back when it ends; a failure mid-stream ends it with an error
    frame instead of a traceback."""
    try:
        async for chunk in stream:
            yield chunk
    except Exception as exc:  # noqa: BLE001 - Redis went away mid-stream: say so and end
        log.warning("event stream ended by %s", type(exc).__name__)
        yield events.frame("error", problem(503, "Stream failed", "the stream ended early; reconnect"))
    finally:
        slots.give_back(slot)


def _stream(request: Request, c, me, stream) -> EventStream:
    slots = _slots(request, c)
    slot = slots.take(me.owner or client_address(request.scope))
    return EventStream(_held(stream, slots, slot), headers=HEADERS)


@router.get("/profile/{pid}/events", response_class=EventStream, summary="Live status and progress of a profile (SSE)",
            responses={**content("text/event-stream", DESCRIPTION), **problems(401, 404, 429, 503)})
async def profile_events(pid: ProfileId, request: Request, c: Ctx, me: Caller):
    if not await c.aredis.exists(c.keys.profile(pid)):
        raise NotFound(f"no profile {pid}: unknown, or expired from the cache")
    await tenants.arequire(c, me, "profile", pid)
    return _stream(request, c, me, events.profile_events(c, pid, me))


@router.get("/sweep/{sid}/events", response_class=EventStream, summary="Live status and progress of a sweep (SSE)",
            responses={**content("text/event-stream", DESCRIPTION), **problems(401, 404, 429, 503)})
def sweep_events(sid: SweepId, request: Request, c: Ctx, me: Caller):
    load_sweep(c, sid)  # 404 before the stream starts
    tenants.require(c, me, "sweep", sid)
    return _stream(request, c, me, events.sweep_events(c, sid, me))
