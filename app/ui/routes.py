"""The pages of /ui. Each reads through the service layer (listing, store, sweeps, plan cache,
predictor) and renders one template; errors a person can fix (a bad filter, an impossible plan)
are shown on the page, never as a JSON document."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader

from app.deps import Ctx
from app.ui import auth
from fastscale import zoo
from fastscale.errors import ScalingError
from service.listing import pages as listing
from service.sweeps.document import load_sweep
from service.sweeps.plots import sweep_plot as render_sweep_plot
from service.access.auth import key_allowed
from service.errors import NotFound, ServiceError, render
from service.ids import valid_id
from service.planning.cache import plan_for
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
def index(c: Ctx, model: Opt = None, strategy: Opt = None, status: Opt = None, device_class: Opt = None,
          cursor: Annotated[Optional[str], Query(max_length=300)] = None):
    filters = {"model": model or None, "strategy": strategy or None, "status": status or None,
               "device_class": device_class or None}
    try:
        profiles = listing.page(c.redis, c.keys, listing.Query("profile", filters, cursor=cursor, limit=25), profile_summary)
        sweep_filters = {k: v for k, v in filters.items() if k != "status"}
        recent_sweeps = listing.page(c.redis, c.keys, listing.Query("sweep", sweep_filters, limit=10), sweep_summary)
    except ServiceError as exc:
        code, body = problem_of(exc)
        return page("index.html", code, filters=filters, profiles={"items": []}, sweeps={"items": []}, problem=body)
    return page("index.html", filters=filters, profiles=profiles, sweeps=recent_sweeps, problem=None)


def _missing(kind: str, rid: str) -> HTMLResponse:
    _code, body = problem_of(NotFound(f"no {kind} {rid[:40]}: unknown, or expired"))
    return page("missing.html", 404, problem=body)


@router.get("/profile/{pid}", dependencies=[Signed])
def profile(pid: str, c: Ctx):
    record = c.store.get(pid) if valid_id(pid) else None
    if record is None:
        return _missing("profile", pid)
    return page("profile.html", p=record, summary=profile_summary(record))


@router.get("/sweep/{sid}", dependencies=[Signed])
def sweep(sid: str, c: Ctx):
    try:
        state = load_sweep(c, sid) if valid_id(sid) else None
    except NotFound:
        state = None
    if state is None:
        return _missing("sweep", sid)
    return page("sweep.html", s=state, done=state["status"] in ("finished", "failed", "cancelled"))


@router.get("/sweep/{sid}/plot.png", dependencies=[Signed])
def sweep_plot(sid: str, c: Ctx):
    if not valid_id(sid):
        return _missing("sweep", sid)
    return Response(render_sweep_plot(c, sid, "png"), media_type="image/png")


@router.get("/plan", dependencies=[Signed])
def plan(c: Ctx, model: Opt = None, strategy: Opt = "dWr", factor: Annotated[Optional[str], Query(max_length=32)] = None):
    form = {"model": model or "", "strategy": strategy or "dWr", "factor": factor or ""}
    context = {"form": form, "models": zoo.names(), "plan": None, "predicted": None, "problem": None}
    if not (model and factor):
        return page("plan.html", **context)
    try:
        value = float(factor)
    except ValueError:
        context["problem"] = problem_of(ScalingError("factor", f"{factor!r} is not a number", "e.g. 4"))[1]
        return page("plan.html", 422, **context)
    try:
        result = plan_for({"model": model, "spec": None, "strategy": form["strategy"], "alpha": None, "exponents": None,
                           "factor": value, "target_flops": None, "rounding": "nearest", "resolution": None})
    except (ScalingError, ServiceError) as exc:
        context["problem"] = problem_of(exc)[1]
        return page("plan.html", 422, **context)
    return page("plan.html", **{**context, "plan": result, "predicted": predicted_all(c.predictor, result)})


@router.get("/login")
def login_form(request: Request):
    return page("login.html", problem=None, needed=bool(request.app.state.services.settings.api_key_hashes))


@router.post("/login")
async def login(request: Request):
    key = await auth.submitted_key(request)
    services = request.app.state.services
    hashes = services.settings.api_key_hashes
    if hashes and await auth.too_many_failures(request, services):
        body = {"title": "Too many requests", "detail": "too many wrong API keys from this address; retry in a minute"}
        return page("login.html", 429, problem=body, needed=True)
    if hashes and not (key and key_allowed(key, hashes)):
        await auth.count_failure(request, services)
        body = {"title": "Unauthorized", "detail": "that key is not one of this server's keys"}
        return page("login.html", 401, problem=body, needed=True)
    return auth.signed_in(request, key)


@router.get("/logout")
def logout():
    return auth.signed_out()
