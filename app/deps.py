"""What routes declare they need, as ``Annotated`` aliases: the services, the metrics, and ids
that are already validated (a malformed id is a 404 before the route body runs).

    def get_profile(pid: ProfileId, c: Ctx): ...

The dependencies are ``async`` on purpose: a plain-def dependency runs in the thread pool, on
every request.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.metrics import Metrics
from service.access.tenants import ANYONE, Tenant
from service.context import Services
from service.errors import NotFound
from service.ids import valid_id


async def get_services(request: Request) -> Services:
    return request.app.state.services


async def get_metrics(request: Request) -> Metrics:
    return request.app.state.metrics


async def get_tenant(request: Request) -> Tenant:
    """The caller's key as a tenant (set by the API guard, app.middleware); ANYONE without keys."""
    return getattr(request.state, "tenant", None) or ANYONE


def checked_id(kind: str, value: str, source: str) -> str:
    if not valid_id(value):
        raise NotFound(f"no {kind} {value[:40]!r}: ids are 32 lowercase hex characters from {source}")
    return value


async def _profile_id(pid: str) -> str:
    return checked_id("profile", pid, "POST /scale")


async def _sweep_id(sid: str) -> str:
    return checked_id("sweep", sid, "POST /sweep")


async def _recommendation_id(rid: str) -> str:
    return checked_id("recommendation", rid, "POST /recommend")


Ctx = Annotated[Services, Depends(get_services)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
Caller = Annotated[Tenant, Depends(get_tenant)]
ProfileId = Annotated[str, Depends(_profile_id)]
SweepId = Annotated[str, Depends(_sweep_id)]
RecommendationId = Annotated[str, Depends(_recommendation_id)]
