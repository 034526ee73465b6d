"""The pages of /ui. Each reads through the service layer (listing, store, sweeps, plan cache,
predictor) and renders one template; errors a person can fix (a bad filter, an impossible plan)
are shown on the page, never as a JSON document."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Optional

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader

from app.deps import Caller, Ctx
from app.ui import auth
from fastscale import zoo
from fastscale.errors import ScalingError
from service.listing import pages as listing
from service.sweeps.document import load_sweep
from service.sweeps.plots import sweep_plot as render_sweep_plot
from service.access import tenants
from service.access.auth import digest_allowed, hash_key
from service.access.ratelimit import RateLimiter, auth_throttled, client_address, count_auth_failure, over_rate
from service.errors import NotFound, ServiceError, render
from service.ids import valid_id
from service.planning.cache import aplan_for
from service.prediction.predictor import predicted_all
from service.listing.summaries import profile_summary, sweep_summary

router = APIRouter(prefix="/ui", include_in_schema=False)
Signed = Depends(auth.require)
TEMPLATES = Environment(loader=FileSystemLoader(Path(__file__).with_name("templates")), autoescape=True)
Opt = Annotated[Optional[str], Query(max_length=96)]


def si(value, unit: str = "") -> str:
    if not isinstance(value, (int, float)):  # None, or a field this record does not have
        return "-"
    for scale, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= scale:
            return f"{value / scale:.2f} {prefix}{unit}"
    return f"{value:g} {unit}".strip()


def ms(value) -> str:
    return f"{value:.3f}" if isinstance(value, (int, float)) else "-"


TEMPLATES.filters.update(si=si, ms=ms)


def page(name: str, status: int = 200, **context) -> HTMLResponse:
    return HTMLResponse(TEMPLATES.get_template(name).render(**context), status_code=status)


def problem_of(exc: Exception) -> tuple[int, dict]:
    status, body, _headers = render(exc)
    return status, body


@router.get("", dependencies=[Signed])
def index(c: Ctx, me: Caller, model: Opt = None, strategy: Opt = None, status: Opt = None, device_class: Opt = None,
          cursor: Annotated[Optional[str], Query(max_length=300)] = None):
    filters = {"model": model or None, "strategy": strategy or None, "status": status or None,
               "device_class": device_class or None}
    try:
        owner = None if me.sees_all else me.owner
        profiles = listing.page(c.redis, c.keys, listing.Query("profile", filters, cursor=cursor, limit=25, owner=owner),
                                profile_summary)
        sweep_filters = {k: v for k, v in filters.items() if k != "status"}
        recent_sweeps = listing.page(c.redis, c.keys, listing.Query("sweep", sweep_filters, limit=10, owner=owner),
                                     sweep_summary)
    except ServiceError as exc:
        code, body = problem_of(exc)
        return page("index.html", code, filters=filters, profiles={"items": []}, sweeps={"items": []}, problem=body)
    return page("index.html", filters=filters, profiles=profiles, sweeps=recent_sweeps, problem=None)


def _missing(kind: str, rid: str) -> HTMLResponse:
    _code, body = problem_of(NotFound(f"no {kind} {rid[:40]}: unknown, or expired"))
    return page("missing.html", 404, problem=body)


@router.get("/profile/{pid}", dependencies=[Signed])
def profile(pid: str, c: Ctx, me: Caller):
    record = c.store.get(pid) if valid_id(pid) and tenants.owns(c, me, "profile", pid) else None
    if record is None:
        return _missing("profile", pid)
    return page("profile.html", p=tenants.visible(record, me), summary=profile_summary(record))


@router.get("/sweep/{sid}", dependencies=[Signed])
def sweep(sid: str, c: Ctx, me: Caller):
    try:
        state = load_sweep(c, sid) if valid_id(sid) and tenants.owns(c, me, "sweep", sid) else None
    except NotFound:
        state = None
    if state is None:
        return _missing("sweep", sid)
    return page("sweep.html", s=state, done=state["status"] in ("finished", "failed", "cancelled"))


@router.get("/sweep/{sid}/plot.png", dependencies=[Signed])
def sweep_plot(sid: str, c: Ctx, me: Caller):
    if not valid_id(sid) or not tenants.owns(c, me, "sweep", sid):
        return _missing("sweep", sid)
    return Response(render_sweep_plot(c, sid, "png"), media_type="image/png")


@router.get("/plan", dependencies=[Signed])
async def plan(request: Request, c: Ctx, model: Opt = None, strategy: Opt = "dWr", factor: Annotated[Optional[str], Query(max_length=32)] = None):
    form = {"model": model or "", "strategy": strategy or "dWr", "factor": factor or ""}
    context = {"form": form, "models": zoo.names(), "plan": None, "predicted": None, "problem": None}
    if not (model and factor):
        return page("plan.html", **context)
    try:
        value = float(factor)
    except ValueError:
        context["problem"] = problem_of(ScalingError("factor", f"{factor!r} is not a number", "e.g. 4"))[1]
        return page("plan.html", 422, **context)
    if c.settings.rate_limit_per_minute > 0 and await over_rate(RateLimiter(c.aredis, c.keys), request.scope, c.settings):
        context["problem"] = {"title": "Too many requests", "detail": f"at most {c.settings.rate_limit_per_minute} "
                              "plans and POST requests per minute; retry in a minute"}
        return page("plan.html", 429, **context)
    try:
        # The planning processes and their backlog, as POST /plan (a 429 when the backlog is full).
        result = await aplan_for({"model": model, "spec": None, "strategy": form["strategy"], "alpha": None, "exponents": None,
                           "factor": value, "target_flops": None, "rounding": "nearest", "resolution": None})
    except (ScalingError, ServiceError) as exc:
        code, context["problem"] = problem_of(exc)
        return page("plan.html", code, **context)
    return page("plan.html", **{**context, "plan": result, "predicted": await asyncio.to_thread(predicted_all, c.predictor, result)})


@router.get("/login")
def login_form(request: Request):
    return page("login.html", problem=None, needed=bool(request.app.state.services.settings.api_key_hashes))


def _refused(status: int, title: str, detail: str) -> HTMLResponse:
    return page("login.html", status, problem={"title": title, "detail": detail}, needed=True)


@router.post("/login")
async def login(request: Request):
    services = request.app.state.services
    hashes = services.settings.api_key_hashes
    if not auth.same_origin(request):
        return _refused(403, "Forbidden", "sign in from this server's own login form")
    if not hashes:
        return RedirectResponse("/ui", status_code=303)
    limiter, address = RateLimiter(services.aredis, services.keys), client_address(request.scope)
    if await auth_throttled(limiter, address, services.settings):
        return _refused(429, "Too many requests", "too many wrong API keys from this address; retry in a minute")
    key = await auth.submitted_key(request)
    digest = hash_key(key)
    if not (key and digest_allowed(digest, hashes + services.settings.admin_key_hashes)):
        await count_auth_failure(limiter, address, services.settings)
        return _refused(401, "Unauthorized", "that key is not one of this server's keys")
    return await auth.signed_in(request, digest)


@router.post("/logout")
async def logout(request: Request):
    if not auth.same_origin(request):
        return _refused(403, "Forbidden", "sign out with this server's own sign-out button")
    return await auth.signed_out(request)
