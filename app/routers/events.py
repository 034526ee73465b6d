"""GET /profile/{id}/events and GET /sweep/{id}/events: live status and progress as Server-Sent
Events, ending after the final state (the stream itself is service.notify.events's."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from app.deps import Ctx, ProfileId, SweepId
from app.documented import content, problems
from service.notify import events
from service.errors import NotFound
from service.sweeps.document import load_sweep

router = APIRouter(tags=["events"])
HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
DESCRIPTION = ("Server-Sent Events: `status` (the whole document: first, at each status change and last) and "
               "`progress`; the stream ends after the final state. Comment lines are heartbeats.")


class EventStream(StreamingResponse):
    media_type = "text/event-stream"


@router.get("/profile/{pid}/events", response_class=EventStream, summary="Live status and progress of a profile (SSE)",
            responses={**content("text/event-stream", DESCRIPTION), **problems(401, 404, 503)})
async def profile_events(pid: ProfileId, c: Ctx):
    if not await c.aredis.exists(c.keys.profile(pid)):
        raise NotFound(f"no profile {pid}: unknown, or expired from the cache")
    return EventStream(events.profile_events(c, pid), headers=HEADERS)


@router.get("/sweep/{sid}/events", response_class=EventStream, summary="Live status and progress of a sweep (SSE)",
            responses={**content("text/event-stream", DESCRIPTION), **problems(401, 404, 503)})
def sweep_events(sid: SweepId, c: Ctx):
    load_sweep(c, sid)  # 404 before the stream starts
    return EventStream(events.sweep_events(c, sid), headers=HEADERS)
