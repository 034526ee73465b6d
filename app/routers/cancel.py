"""DELETE /profile/{id}, /sweep/{id}, /recommend/{id}: cancel queued or running work.

200 with the record when it is cancelled at once (it was queued, or its orchestration was gone);
202 with ``cancel_requested: true`` when a running job or orchestration was asked to stop (it
does at its next iteration check; follow the record or its /events until it says ``cancelled``);
409 when it was already final.

With API keys, a DELETE withdraws the calling key's interest (and its callback subscriptions): the
work is cancelled only when no other key still waits on it; otherwise the answer is 200 with
``withdrawn: true`` and the work goes on for the others (service.access.tenants). Admin keys
cancel outright. Another key's record is a 404, as an unknown one.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from app.deps import Caller, Ctx, ProfileId, RecommendationId, SweepId
from service.access import tenants
from app.documented import problems
from app.schemas import ProfileRecord, Recommendation, Sweep
from service.profiles.cancel import cancel_profile
from service.recommendations.state import cancel_recommendation
from service.recommendations.runs import get_recommendation as load_recommendation
from service.sweeps.document import load_sweep
from service.sweeps.state import cancel_sweep

router = APIRouter(tags=["cancel"])


def _answer(record: dict, now: bool) -> JSONResponse:
    return JSONResponse(record, status_code=200 if now else 202)


@router.delete("/profile/{pid}", response_model=None, summary="Cancel a queued or running profile",
               responses={200: {"model": ProfileRecord, "description": "Cancelled (it was queued)"},
                          202: {"model": ProfileRecord, "description": "Running: asked to stop at its next check"},
                          **problems(401, 404, 409, 503)})
def delete_profile(pid: ProfileId, c: Ctx, me: Caller):
    tenants.require(c, me, "profile", pid)
    record = c.store.get(pid)
    if record is not None and record["status"] in ("queued", "started") and \
            tenants.others_wait(c, me, "profile", pid, record["run"]):
        return _withdrawn(tenants.visible(record, me))
    record, now = cancel_profile(c, pid)
    return _answer(tenants.visible(record, me), now)


def _withdrawn(record: dict) -> JSONResponse:
    return JSONResponse({**record, "withdrawn": True}, status_code=200)


def _row_kept(c, me):
    def keep(pid: str) -> bool:
        return tenants.others_wait(c, me, "profile", pid, tenants.current_run(c, "profile", pid))
    return keep


@router.delete("/sweep/{sid}", response_model=None, summary="Cancel a sweep and its unfinished rows",
               responses={200: {"model": Sweep, "description": "Cancelled; its unfinished rows were cancelled too"},
                          **problems(401, 404, 409, 503)})
def delete_sweep(sid: SweepId, c: Ctx, me: Caller):
    tenants.require(c, me, "sweep", sid)
    if tenants.others_wait(c, me, "sweep", sid, tenants.current_run(c, "sweep", sid)):
        return _withdrawn(tenants.visible(load_sweep(c, sid), me))
    return _answer(tenants.visible(cancel_sweep(c, sid, keep=_row_kept(c, me)), me), True)


@router.delete("/recommend/{rid}", response_model=None, summary="Cancel a running recommendation",
               responses={200: {"model": Recommendation, "description": "Cancelled (its process was gone)"},
                          202: {"model": Recommendation, "description": "Asked to stop at its next check"},
                          **problems(401, 404, 409, 503)})
def delete_recommendation(rid: RecommendationId, c: Ctx, me: Caller):
    tenants.require(c, me, "recommendation", rid)
    if tenants.others_wait(c, me, "recommendation", rid, tenants.current_run(c, "recommendation", rid)):
        return _withdrawn(tenants.visible(load_recommendation(c, rid), me))
    record, now = cancel_recommendation(c, rid)
    return _answer(tenants.visible(record, me), now)
