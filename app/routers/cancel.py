"""DELETE /profile/{id}, /sweep/{id}, /recommend/{id}: cancel queued or running work.

200 with the record when it is cancelled at once (it was queued, or its orchestration was gone);
202 with ``cancel_requested: true`` when a running job or orchestration was asked to stop (it
does at its next iteration check; follow the record or its /events until it says ``cancelled``);
409 when it was already final.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from app.deps import Ctx, ProfileId, RecommendationId, SweepId
from app.documented import problems
from app.schemas import ProfileRecord, Recommendation, Sweep
from service.profiles.cancel import cancel_profile
from service.recommendations.state import cancel_recommendation
from service.sweeps.state import cancel_sweep

router = APIRouter(tags=["cancel"])


def _answer(record: dict, now: bool) -> JSONResponse:
    return JSONResponse(record, status_code=200 if now else 202)


@router.delete("/profile/{pid}", response_model=None, summary="Cancel a queued or running profile",
               responses={200: {"model": ProfileRecord, "description": "Cancelled (it was queued)"},
                          202: {"model": ProfileRecord, "description": "Running: asked to stop at its next check"},
                          **problems(401, 404, 409, 503)})
def delete_profile(pid: ProfileId, c: Ctx):
    return _answer(*cancel_profile(c, pid))


@router.delete("/sweep/{sid}", response_model=None, summary="Cancel a sweep and its unfinished rows",
               responses={200: {"model": Sweep, "description": "Cancelled; its unfinished rows were cancelled too"},
                          **problems(401, 404, 409, 503)})
def delete_sweep(sid: SweepId, c: Ctx):
    return _answer(cancel_sweep(c, sid), True)


@router.delete("/recommend/{rid}", response_model=None, summary="Cancel a running recommendation",
               responses={200: {"model": Recommendation, "description": "Cancelled (its process was gone)"},
                          202: {"model": Recommendation, "description": "Asked to stop at its next check"},
                          **problems(401, 404, 409, 503)})
def delete_recommendation(rid: RecommendationId, c: Ctx):
    return _answer(*cancel_recommendation(c, rid))
