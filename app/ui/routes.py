"""The pages of /ui. Each reads through the service layer (listing, store, sweeps, plan cache,
predictor) and renders one template; errors a person can fix (a bad filter, an impossible plan)
are shown on the page, never as a JSON document."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader

from app.deps import Caller, Ctx
from app.ui import auth
from app.ui.compare import form_errors, growth_curves, growth_svg, one, strategy_rows
from fastscale import strategies, zoo
from service.listing import pages as listing
from service.sweeps.document import load_sweep
from service.sweeps.plots import sweep_plot as render_sweep_plot
from service.access import tenants
from service.access.auth import digest_allowed, hash_key
from service.access.ratelimit import RateLimiter, auth_throttled, client_address, count_auth_failure, over_rate
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
        return page("index.html", code, c, filters=filters, profiles={"items": []}, sweeps={"items": []}, problem=body)
    return page("index.html", c=c, filters=filters, profiles=profiles, sweeps=recent_sweeps, problem=None)


def _missing(kind: str, rid: str) -> HTMLResponse:
    _code, body = problem_of(NotFound(f"no {kind} {rid[:40]}: unknown, or expired"))
    return page("missing.html", 404, problem=body)


@router.get("/profile/{pid}", dependencies=[Signed])
async def profile(pid: str, c: Ctx, me: Caller):
    """One profile: every time with its n, stop reason and stability, predicted memory beside the
    measured, the architecture, links to its JSON, config, sweeps and the strategy comparison,
    and the growth figure of its model with its strategy drawn bold."""
    owned = valid_id(pid) and await run_in_threadpool(tenants.owns, c, me, "profile", pid)
    record = await run_in_threadpool(c.store.get, pid) if owned else None
    if record is None:
        return _missing("profile", pid)
    sweeps = sorted(s.decode() for s in await run_in_threadpool(c.redis.smembers, c.keys.sweeps_of(pid)))
    model, figure = record["plan"]["base"]["name"], None
    if model in zoo.names():
        figure = growth_svg(await growth_curves(model), model, record["plan"]["strategy"]["name"])
    return page("profile.html", c=c, p=tenants.visible(record, me), summary=profile_summary(record), sweeps=sweeps,
                figure=figure, zoo_model=model in zoo.names())


@router.get("/sweep/{sid}", dependencies=[Signed])
def sweep(sid: str, c: Ctx, me: Caller):
    try:
        state = load_sweep(c, sid) if valid_id(sid) and tenants.owns(c, me, "sweep", sid) else None
    except NotFound:
        state = None
    if state is None:
        return _missing("sweep", sid)
    return page("sweep.html", c=c, s=state, done=state["status"] in ("finished", "failed", "cancelled"),
                zoo_model=state["base"] in zoo.names())


@router.get("/sweep/{sid}/plot.png", dependencies=[Signed])
def sweep_plot(sid: str, c: Ctx, me: Caller):
    if not valid_id(sid) or not tenants.owns(c, me, "sweep", sid):
        return _missing("sweep", sid)
    return Response(render_sweep_plot(c, sid, "png"), media_type="image/png")


async def _over_rate(request: Request, c) -> dict | None:
    """The problem to show when this address is past FASTSCALE_RATE_LIMIT_PER_MINUTE: the
    calculator's plans count as POST /plan's do (they run on the same planning backlog)."""
    if c.settings.rate_limit_per_minute > 0 and await over_rate(RateLimiter(c.aredis, c.keys), request.scope, c.settings):
        return {"title": "Too many requests", "detail": f"at most {c.settings.rate_limit_per_minute} "
                "plans and POST requests per minute; retry in a minute"}
    return None


@router.get("/plan", dependencies=[Signed])
async def plan(request: Request, c: Ctx, model: Opt = None, strategy: Opt = "dWr", factor: Annotated[Optional[str], Query(max_length=32)] = None,
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
    if (throttled := await _over_rate(request, c)) is not None:
        return page("plan.html", 429, c, **{**context, "problem": throttled})
    row = await one(model, form["strategy"], value, batch_size, dtype, c.predictor)
    if "error" in row:
        context["problem"] = {"title": "Invalid request", "detail": row["error"]}
        return page("plan.html", 422, c, **context)
    return page("plan.html", c=c, **{**context, "row": row})


@router.get("/plan/config.yaml", dependencies=[Signed])
async def plan_config(request: Request, c: Ctx, model: Opt = None, strategy: Opt = "dWr", factor: Annotated[Optional[str], Query(max_length=32)] = None):
    """The calculator's plan as a pycls config (what GET /profile/{id}/config.yaml serves once profiled)."""
    value, errors = form_errors(model or "", strategy or "dWr", factor or "")
    if errors:
        return PlainTextResponse("; ".join(f"{e['field']}: {e['message']}" for e in errors), 422)
    if (problem := await _over_rate(request, c)) is not None:
        return PlainTextResponse(problem["detail"], 429)
    row = await one(model, strategy or "dWr", value, 1, "float32", c.predictor)
    if "error" in row:
        return PlainTextResponse(row["error"], 422)
    return PlainTextResponse(await apycls_yaml(row["plan"]), media_type="application/yaml")


@router.get("/compare", dependencies=[Signed])
async def compare(request: Request, c: Ctx, model: Opt = None, factor: Annotated[Optional[str], Query(max_length=32)] = None,
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
    if (throttled := await _over_rate(request, c)) is not None:
        return page("compare.html", 429, c, **{**context, "problem": throttled})
    rows = await strategy_rows(model, value, batch_size, dtype, c.predictor)
    figure = growth_svg(await growth_curves(model), zoo.get(model).name)
    return page("compare.html", c=c, **{**context, "rows": rows, "figure": figure})


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
