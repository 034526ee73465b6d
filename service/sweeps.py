"""Sweeps: the paper's experiment on demand, one profile per (strategy, factor).

Each row is submitted exactly like POST /scale (so cached results are reused and duplicates share
a job). The sweep record keeps only the profile ids; status, rows and analysis are derived from
the profiles whenever the sweep is read, so a sweep is never out of step with its measurements.
"""

from __future__ import annotations

import json

from fastscale.analysis import analyse
from service.context import Services
from service.errors import NotFinished, NotFound
from service.ids import content_id
from service.plan_cache import plan_strategy, strategy_items
from service.plots import sweep_figure
from service.store import now_iso
from service.submit import submit
from service.sweep_state import recorded, save_new

MODES = ("inference", "training")


def sweep_links(sid: str) -> dict:
    return {"self": f"/sweep/{sid}", "plot_png": f"/sweep/{sid}/plot.png", "plot_svg": f"/sweep/{sid}/plot.svg"}


def create_sweep(c: Services, req: dict) -> dict:
    """Plan every (strategy, factor) of ``req``, submit them, and save the sweep record."""
    entries = [(strategy, alpha, factor, plan_strategy(req, strategy, alpha, factor=factor))
               for strategy, alpha in strategy_items(req["strategies"]) for factor in req["factors"]]
    submitted = [submit(c, plan, req["profile"]) for *_, plan in entries]
    rows = [{"strategy": s, "alpha": a, "factor": f, "profile_id": sub.id}
            for (s, a, f, _), sub in zip(entries, submitted)]
    device_class = submitted[0].device_class
    sid = content_id({"rows": [[r["strategy"], r["alpha"], r["factor"], r["profile_id"]] for r in rows],
                      "device": device_class})
    record = {"id": sid, "device_class": device_class, "base": entries[0][3]["base"]["name"], "rows": rows,
              "created_at": now_iso()}
    save_new(c, record, req["profile"])
    return {"id": sid, "status": "queued", "total": len(rows), "device_class": device_class, "links": sweep_links(sid)}


def _row(r: dict, p: dict) -> dict:
    """One sweep row: its request, its plan's figures and, once measured, its times."""
    row = {**r, "label": r["strategy"] + (f" (alpha {r['alpha']:g})" if r["alpha"] is not None else ""),
           "status": p["status"]}
    if "plan" in p:
        cx = p["plan"]["complexity"]
        row.update(flops=cx["flops"], params=cx["params"], acts=cx["acts"], resolution=p["plan"]["resolution"],
                   achieved_factor=p["plan"]["achieved_factor"])
    if p["status"] == "finished":
        for mode in MODES:
            if mode in p["result"]:
                row[f"{mode}_ms"] = p["result"][mode]["median_ms"]
                row[f"{mode}_stable"] = p["result"][mode]["stable"]
    if p["status"] == "failed":
        row["error"] = p.get("error")
    return row


def _status(rows: list[dict], done: int, failed: int) -> str:
    if done == len(rows):
        return "failed" if failed else "finished"
    return "started" if any(r["status"] != "queued" for r in rows) else "queued"


def load_sweep(c: Services, sid: str) -> dict:
    """The sweep as GET /sweep/{id} answers it: rows from their profiles, analysis once done.

    ``sid`` must already be a valid id (the API checks it before calling).
    """
    raw = c.redis.get(c.keys.sweep(sid))
    if raw is None:
        raise NotFound(f"no sweep {sid}: unknown, or expired")
    sweep = json.loads(raw)
    profiles = c.redis.mget([c.keys.profile(r["profile_id"]) for r in sweep["rows"]])
    rows, done, failed = [], 0, 0
    for r, raw_p in zip(sweep["rows"], profiles):
        p = json.loads(raw_p) if raw_p else {"status": "expired"}
        rows.append(_row(r, p))
        done += p["status"] in ("finished", "failed", "expired", "cancelled")
        failed += p["status"] in ("failed", "expired", "cancelled")
    out = {"id": sid, "status": _status(rows, done, failed), "done": done, "total": len(rows),
           "device_class": sweep["device_class"], "base": sweep["base"], "rows": rows, "created_at": sweep["created_at"]}
    out.update(recorded(sweep))
    if done == len(rows):
        out["analysis"] = analyse([r for r in rows if r["status"] == "finished"])
    return out


def sweep_plot(c: Services, sid: str, fmt: str) -> bytes:
    """The sweep's figure as PNG or SVG bytes; only once every row is done."""
    sweep = load_sweep(c, sid)
    if sweep["status"] not in ("finished", "failed"):
        raise NotFinished(f"sweep {sid} is not done yet ({sweep['done']}/{sweep['total']}); poll GET /sweep/{sid}")
    rows = [r for r in sweep["rows"] if r["status"] == "finished"]
    return sweep_figure(rows, sweep["analysis"], f"{sweep['base']} on {sweep['device_class']}", fmt)
