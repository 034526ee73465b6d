"""The pages of /ui. Each reads through the service layer (listing, store, sweeps, plan cache,
predictor) and renders one template; errors a person can fix (a bad filter, an impossible plan)
are shown on the page, never as a JSON document."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from jinja2 import Environment, FileSystemLoader

from app.deps import Ctx
from app.ui import auth
from app.ui.compare import form_errors, growth_curves, growth_svg, one, strategy_rows
from fastscale import strategies, zoo
from service.listing import pages as listing
from service.sweeps.document import load_sweep
from service.sweeps.plots import sweep_plot as render_sweep_plot
from service.access.auth import key_allowed
from service.errors import NotFound, ServiceError, render
from service.ids import valid_id
from service.planning.cache import apycls_yaml
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


def page(name: str, status: int = 200, c=None, **context) -> HTMLResponse:
    """``name`` rendered; ``c`` (the services) says whether API keys are on (sign-out shows only then)."""
    context.setdefault("auth_on", bool(c is not None and c.settings.api_key_hashes))
    context.setdefault("strategy_names", strategies.NAMED)
    return HTMLResponse(TEMPLATES.get_template(name).render(**context), status_code=status)


Batch = Annotated[int, Query(ge=1, le=4096)]
Dtype = Annotated[str, Query(pattern="^(float32|bfloat16|float16)$")]


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
        return page("index.html", code, c, filters=filters, profiles={"items": []}, sweeps={"items": []}, problem=body)
    return page("index.html", c=c, filters=filters, profiles=profiles, sweeps=recent_sweeps, problem=None)


def _missing(kind: str, rid: str) -> HTMLResponse:
    _code, body = problem_of(NotFound(f"no {kind} {rid[:40]}: unknown, or expired"))
    return page("missing.html", 404, problem=body)


@router.get("/profile/{pid}", dependencies=[Signed])
async def profile(pid: str, c: Ctx):
    """One profile: every time with its n, stop reason and stability, predicted memory beside the
    measured, the architecture, links to its JSON, config, sweeps and the strategy comparison,
    and the growth figure of its model with its strategy drawn bold."""
    record = await run_in_threadpool(c.store.get, pid) if valid_id(pid) else None
    if record is None:
        return _missing("profile", pid)
    sweeps = sorted(s.decode() for s in await run_in_threadpool(c.redis.smembers, c.keys.sweeps_of(pid)))
    model, figure = record["plan"]["base"]["name"], None
    if model in zoo.names():
        figure = growth_svg(await growth_curves(model), model, record["plan"]["strategy"]["name"])
    return page("profile.html", c=c, p=record, summary=profile_summary(record), sweeps=sweeps, figure=figure,
                zoo_model=model in zoo.names())


@router.get("/sweep/{sid}", dependencies=[Signed])
def sweep(sid: str, c: Ctx):
    try:
        state = load_sweep(c, sid) if valid_id(sid) else None
    except NotFound:
        state = None
    if state is None:
        return _missing("sweep", sid)
    return page("sweep.html", c=c, s=state, done=state["status"] in ("finished", "failed", "cancelled"),
                zoo_model=state["base"] in zoo.names())


@router.get("/sweep/{sid}/plot.png", dependencies=[Signed])
def sweep_plot(sid: str, c: Ctx):
    if not valid_id(sid):
        return _missing("sweep", sid)
    return Response(render_sweep_plot(c, sid, "png"), media_type="image/png")


@router.get("/plan", dependencies=[Signed])
async def plan(c: Ctx, model: Opt = None, strategy: Opt = "dWr", factor: Annotated[Optional[str], Query(max_length=32)] = None,
               batch_size: Batch = 64, dtype: Dtype = "float32"):
    """The plan calculator: every field's error at once, the plan, its predicted memory and time,
    and links to its pycls config and to the comparison of every strategy."""
    form = {"model": model or "", "strategy": strategy or "dWr", "factor": factor or "", "batch_size": batch_size,
            "dtype": dtype}
    context = {"form": form, "models": zoo.names(), "row": None, "problem": None}
    if not (model and factor):
        return page("plan.html", c=c, **context)
    value, errors = form_errors(model, form["strategy"], factor)
    if errors:
        context["problem"] = {"title": "Invalid request", "detail": f"{len(errors)} field(s) to fix", "errors": errors}
        return page("plan.html", 422, c, **context)
    row = await one(model, form["strategy"], value, batch_size, dtype, c.predictor)
    if "error" in row:
        context["problem"] = {"title": "Invalid request", "detail": row["error"]}
        return page("plan.html", 422, c, **context)
    return page("plan.html", c=c, **{**context, "row": row})


@router.get("/plan/config.yaml", dependencies=[Signed])
async def plan_config(c: Ctx, model: Opt = None, strategy: Opt = "dWr", factor: Annotated[Optional[str], Query(max_length=32)] = None):
    """The calculator's plan as a pycls config (what GET /profile/{id}/config.yaml serves once profiled)."""
    value, errors = form_errors(model or "", strategy or "dWr", factor or "")
    if errors:
        return PlainTextResponse("; ".join(f"{e['field']}: {e['message']}" for e in errors), 422)
    row = await one(model, strategy or "dWr", value, 1, "float32", c.predictor)
    if "error" in row:
        return PlainTextResponse(row["error"], 422)
    return PlainTextResponse(await apycls_yaml(row["plan"]), media_type="application/yaml")


@router.get("/compare", dependencies=[Signed])
async def compare(c: Ctx, model: Opt = None, factor: Annotated[Optional[str], Query(max_length=32)] = None,
                  batch_size: Batch = 64, dtype: Dtype = "float32"):
    """Every named strategy for one model and factor, and the paper's growth figure."""
    form = {"model": model or "", "factor": factor or "4", "batch_size": batch_size, "dtype": dtype}
    context = {"form": form, "models": zoo.names(), "rows": [], "figure": None, "problem": None}
    if not model:
        return page("compare.html", c=c, **context)
    value, errors = form_errors(model, "dWr", form["factor"])
    if errors:
        context["problem"] = {"title": "Invalid request", "detail": f"{len(errors)} field(s) to fix", "errors": errors}
        return page("compare.html", 422, c, **context)
    rows = await strategy_rows(model, value, batch_size, dtype, c.predictor)
    figure = growth_svg(await growth_curves(model), zoo.get(model).name)
    return page("compare.html", c=c, **{**context, "rows": rows, "figure": figure})


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
