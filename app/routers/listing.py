"""GET /profiles, /sweeps, /recommendations: search what was measured before, newest first, with
filters and cursor pagination (the search itself is service.listing.pages's, on Redis indexes)."""

from __future__ import annotations

from typing import Annotated, Literal, Optional

from fastapi import APIRouter, Query
from fastapi.responses import Response

from app.deps import Caller, Ctx
from app.documented import problems
from app.schemas import ProfilePage, RecommendationPage, SweepPage
from service.listing import pages as listing
from service.listing.summaries import profile_summary, recommendation_summary, sweep_summary

router = APIRouter(tags=["listing"])

Text = Annotated[Optional[str], Query(max_length=96)]
Model = Annotated[Optional[str], Query(max_length=96, description="Base model name (case-insensitive), e.g. RegNetY-400MF.")]
Strategy = Annotated[Optional[str], Query(max_length=96, description="Strategy name, e.g. dWr.")]
Dtype = Annotated[Optional[Literal["float32", "bfloat16", "float16"]], Query()]
Batch = Annotated[Optional[int], Query(ge=1, description="Profile batch size.")]
Since = Annotated[Optional[str], Query(max_length=40, description="Created at or after (ISO 8601).")]
Until = Annotated[Optional[str], Query(max_length=40, description="Created at or before (ISO 8601).")]
Cursor = Annotated[Optional[str], Query(max_length=300, description="The `next` of the previous page.")]
Limit = Annotated[int, Query(ge=1, le=listing.MAX_LIMIT, description="Items per page (at most 200).")]
ProfileStatus = Annotated[Optional[Literal["queued", "started", "finished", "failed", "cancelled"]], Query()]
RunStatus = Annotated[Optional[Literal["running", "finished", "failed", "cancelled"]], Query()]


async def _page(c, me, kind: str, summarise, filters: dict, since, until, cursor, limit) -> Response:
    """The page's JSON as the service assembles it from the stored listing lines (its shape is the
    declared model's; parsing, validating and encoding 200 items again on the way out would cost
    more than finding them)."""
    q = listing.Query(kind, filters, since, until, cursor, limit, owner=None if me.sees_all else me.owner)
    return Response(await listing.apage_json(c, q, summarise), media_type="application/json")


@router.get("/profiles", response_model=None,
            responses={200: {"model": ProfilePage}, **problems(401, 422, 503)}, summary="Profiles, newest first, filtered, a page at a time")
async def list_profiles(c: Ctx, me: Caller, model: Model = None, strategy: Strategy = None, device_class: Text = None,
                  status: ProfileStatus = None, dtype: Dtype = None, batch_size: Batch = None, since: Since = None,
                  until: Until = None, cursor: Cursor = None, limit: Limit = 50):
    filters = {"model": model, "strategy": strategy, "device_class": device_class, "status": status, "dtype": dtype,
               "batch_size": batch_size}
    return await _page(c, me, "profile", profile_summary, filters, since, until, cursor, limit)


@router.get("/sweeps", response_model=None,
            responses={200: {"model": SweepPage}, **problems(401, 422, 503)}, summary="Sweeps, newest first, filtered, a page at a time")
async def list_sweeps(c: Ctx, me: Caller, model: Model = None, strategy: Strategy = None, device_class: Text = None,
                status: RunStatus = None, dtype: Dtype = None, batch_size: Batch = None, since: Since = None,
                until: Until = None, cursor: Cursor = None, limit: Limit = 50):
    filters = {"model": model, "strategy": strategy, "device_class": device_class, "status": status, "dtype": dtype,
               "batch_size": batch_size}
    return await _page(c, me, "sweep", sweep_summary, filters, since, until, cursor, limit)


@router.get("/recommendations", response_model=None,
            responses={200: {"model": RecommendationPage}, **problems(401, 422, 503)}, summary="Recommendations, newest first, filtered, a page at a time")
async def list_recommendations(c: Ctx, me: Caller, model: Model = None, strategy: Strategy = None, device_class: Text = None,
                         status: RunStatus = None, dtype: Dtype = None, batch_size: Batch = None, since: Since = None,
                         until: Until = None, cursor: Cursor = None, limit: Limit = 50):
    filters = {"model": model, "strategy": strategy, "device_class": device_class, "status": status, "dtype": dtype,
               "batch_size": batch_size}
    return await _page(c, me, "recommendation", recommendation_summary, filters, since, until, cursor, limit)
