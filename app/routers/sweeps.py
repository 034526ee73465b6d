"""POST /sweep, GET /sweep/{id}, GET /sweep/{id}/plot.png|.svg: the paper's experiment on demand
(the logic and the records are service.sweeps)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from app.deps import Caller, Ctx, SweepId
from service.access import tenants
from app.documented import POST_GUARD, PngResponse, SvgResponse, content, problems
from app.schemas import Sweep, SweepCreated, SweepRequest
from service.sweeps import create as sweeps
from service.sweeps.document import load_sweep
from service.sweeps.plots import sweep_plot
from service.notify.callbacks import subscribe, validate_url

router = APIRouter(tags=["sweep"])


@router.post("/sweep", status_code=202, response_model=SweepCreated, responses=problems(*POST_GUARD, 422, 503),
             summary="Profile a model under several strategies and factors")
def create_sweep(req: SweepRequest, response: Response, c: Ctx, me: Caller) -> dict:
    callback = validate_url(req.callback_url, c.settings) if req.callback_url else None
    created = sweeps.create_sweep(c, req.model_dump(mode="json", exclude={"callback_url"}))
    _record_interest(c, me, created["id"])
    if callback:
        subscribe(c, "sweep", created["id"], callback, lambda rec: {**load_sweep(c, rec["id"]), "run": rec["run"]},
                  owner=me.owner)
    response.headers["Location"] = created["links"]["self"]
    return created


def _record_interest(c, me: tenants.Tenant, sid: str) -> None:
    """The key owns the sweep and each of its rows (they are its submissions too)."""
    if not me.owner:
        return
    sweep = load_sweep(c, sid)
    final = sweep["status"] in ("finished", "failed", "cancelled")
    tenants.record_interest(c, me, "sweep", sid, None if final else sweep.get("run", 1), sweep.get("created_at"))
    for row in sweep["rows"]:
        rec = c.store.get(row["profile_id"]) or {}
        row_final = rec.get("status", "finished") in ("finished", "failed", "cancelled")
        tenants.record_interest(c, me, "profile", row["profile_id"], None if row_final else rec.get("run", 1),
                                rec.get("created_at"))


@router.get("/sweep/{sid}", response_model=Sweep, response_model_exclude_unset=True,
            responses=problems(401, 404, 503), summary="Sweep status, rows and, once finished, the analysis")
def get_sweep(sid: SweepId, c: Ctx, me: Caller) -> dict:
    tenants.require(c, me, "sweep", sid)
    return tenants.visible(load_sweep(c, sid), me)


@router.get("/sweep/{sid}/plot.png", summary="The sweep's figure (PNG)", response_class=PngResponse,
            responses={**content("image/png", "The figure", binary=True), **problems(401, 404, 409, 503)})
def plot_png(sid: SweepId, c: Ctx, me: Caller) -> Response:
    tenants.require(c, me, "sweep", sid)
    return PngResponse(sweep_plot(c, sid, "png"))


@router.get("/sweep/{sid}/plot.svg", summary="The sweep's figure (SVG)", response_class=SvgResponse,
            responses={**content("image/svg+xml", "The figure"), **problems(401, 404, 409, 503)})
def plot_svg(sid: SweepId, c: Ctx, me: Caller) -> Response:
    tenants.require(c, me, "sweep", sid)
    return SvgResponse(sweep_plot(c, sid, "svg"))
