"""POST /sweep, GET /sweep/{id}, GET /sweep/{id}/plot.png|.svg: the paper's experiment on demand.

A sweep is one profile per (strategy, factor), each submitted exactly like POST /scale (so cached
results are reused and duplicates share a job). The sweep record keeps only the profile ids;
status, rows and analysis are derived from the profiles whenever the sweep is read.
"""

from __future__ import annotations

import hashlib
import json

from fastapi import APIRouter, Depends, HTTPException, Response

from app.context import Context, ctx
from app.ids import canonical_json, valid_id
from app.planning import plan_strategy
from app.plots import sweep_figure
from app.schemas import SweepRequest
from app.store import now_iso
from app.submit import submit
from fastscale.analysis import analyse

router = APIRouter(tags=["sweep"])


def sweep_key(c: Context, sid: str) -> str:
    return f"{c.settings.key_prefix}:sweep:{sid}"


@router.post("/sweep", status_code=202, summary="Profile a model under several strategies and factors")
def create_sweep(req: SweepRequest, response: Response, c: Context = Depends(ctx)) -> dict:
    entries = []
    for strategy, alpha in req.items():
        for factor in req.factors:
            plan = plan_strategy(req, strategy, alpha, factor=factor)
            entries.append((strategy, alpha, factor, plan))
    submitted = [submit(c, plan, req.profile) for *_, plan in entries]
    rows = [{"strategy": s, "alpha": a, "factor": f, "profile_id": sub.id}
            for (s, a, f, _), sub in zip(entries, submitted)]
    device_class = submitted[0].device_class
    material = {"rows": [[r["strategy"], r["alpha"], r["factor"], r["profile_id"]] for r in rows], "device": device_class}
    sid = hashlib.sha256(canonical_json(material).encode()).hexdigest()[:32]
    record = {"id": sid, "device_class": device_class, "base": entries[0][3]["base"]["name"], "rows": rows,
              "created_at": now_iso()}
    c.redis.set(sweep_key(c, sid), json.dumps(record), ex=c.settings.result_ttl_s)
    response.headers["Location"] = f"/sweep/{sid}"
    return {"id": sid, "status": "queued", "total": len(rows), "device_class": device_class,
            "links": {"self": f"/sweep/{sid}", "plot_png": f"/sweep/{sid}/plot.png", "plot_svg": f"/sweep/{sid}/plot.svg"}}


def load_sweep(c: Context, sid: str) -> dict:
    if not valid_id(sid):
        raise HTTPException(404, f"no sweep {sid[:40]!r}: ids are 32 lowercase hex characters from POST /sweep")
    raw = c.redis.get(sweep_key(c, sid))
    if raw is None:
        raise HTTPException(404, f"no sweep {sid}: unknown, or expired")
    sweep = json.loads(raw)
    profiles = c.redis.mget([c.store.key(r["profile_id"]) for r in sweep["rows"]])
    rows, done, failed = [], 0, 0
    for r, raw_p in zip(sweep["rows"], profiles):
        p = json.loads(raw_p) if raw_p else {"status": "expired"}
        row = {**r, "label": r["strategy"] + (f" (alpha {r['alpha']:g})" if r["alpha"] is not None else ""),
               "status": p["status"]}
        if "plan" in p:
            cx = p["plan"]["complexity"]
            row.update(flops=cx["flops"], params=cx["params"], acts=cx["acts"], resolution=p["plan"]["resolution"],
                       achieved_factor=p["plan"]["achieved_factor"])
        if p["status"] == "finished":
            for mode in ("inference", "training"):
                if mode in p["result"]:
                    row[f"{mode}_ms"] = p["result"][mode]["median_ms"]
                    row[f"{mode}_stable"] = p["result"][mode]["stable"]
        if p["status"] == "failed":
            row["error"] = p.get("error")
        done += p["status"] in ("finished", "failed", "expired")
        failed += p["status"] != "finished" and p["status"] in ("failed", "expired")
        rows.append(row)
    status = "finished" if done == len(rows) and not failed else "failed" if done == len(rows) else \
        "started" if any(r["status"] != "queued" for r in rows) else "queued"
    out = {"id": sid, "status": status, "done": done, "total": len(rows), "device_class": sweep["device_class"],
           "base": sweep["base"], "rows": rows, "created_at": sweep["created_at"]}
    if done == len(rows):
        out["analysis"] = analyse([r for r in rows if r["status"] == "finished"])
    return out


@router.get("/sweep/{sid}", summary="Sweep status, rows and, once finished, the analysis")
def get_sweep(sid: str, c: Context = Depends(ctx)) -> dict:
    return load_sweep(c, sid)


def _plot(sid: str, c: Context, fmt: str) -> Response:
    sweep = load_sweep(c, sid)
    if sweep["status"] not in ("finished", "failed"):
        raise HTTPException(409, f"sweep {sid} is not done yet ({sweep['done']}/{sweep['total']}); poll GET /sweep/{sid}")
    rows = [r for r in sweep["rows"] if r["status"] == "finished"]
    body = sweep_figure(rows, sweep["analysis"], f"{sweep['base']} on {sweep['device_class']}", fmt)
    return Response(body, media_type="image/png" if fmt == "png" else "image/svg+xml")


@router.get("/sweep/{sid}/plot.png", summary="The sweep's figure (PNG)", response_class=Response)
def plot_png(sid: str, c: Context = Depends(ctx)) -> Response:
    return _plot(sid, c, "png")


@router.get("/sweep/{sid}/plot.svg", summary="The sweep's figure (SVG)", response_class=Response)
def plot_svg(sid: str, c: Context = Depends(ctx)) -> Response:
    return _plot(sid, c, "svg")
