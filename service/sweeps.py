"""Sweeps: the paper's experiment on demand, one profile per (strategy, factor).

Each row is claimed exactly like POST /scale (so cached results are reused and duplicates share
a job), but queued all together or not at all: the jobs of every row that needs measuring and
the sweep record go to Redis in one transaction, refused whole when the queue has no room for all
of them (issue #13: ten refused sweeps once left 756 orphan jobs and no record). The record keeps
only the profile ids and the measurement settings; status, rows and analysis are derived from the
profiles whenever the sweep is read, so a sweep is never out of step with its measurements.
"""

from __future__ import annotations

import json
from collections import Counter

from fastscale.analysis import MODES, analyse
from service.context import Services
from service.errors import NotFinished, NotFound
from service.ids import content_id
from service.jobs import enqueue_all_or_none
from service.plan_cache import plan_strategy, strategy_items
from service.plots import sweep_figure
from service.store import now_iso
from service.submit import Submitted, claim, require_worker
from service.sweep_state import finalize_if_done, recorded, stage_new

SETTINGS_SHOWN = ("batch_size", "dtype", "channels_last", "time_budget_s", "modes")
TIMING_FIELDS = ("n", "stop_reason", "rel_ci")
PLOT_VERSION = 2  # part of every cached figure's version: bump when the figure's drawing changes


def sweep_links(sid: str) -> dict:
    return {"self": f"/sweep/{sid}", "plot_png": f"/sweep/{sid}/plot.png", "plot_svg": f"/sweep/{sid}/plot.svg"}


def _claim_all(c: Services, req: dict, entries: list) -> tuple[list[Submitted], Counter]:
    """Claim every row's profile: (claims, live workers per class). On any refusal the claims made
    so far are undone and the error re-raised, so a 422 on row 7 leaves nothing behind."""
    subs: list[Submitted] = []
    live: Counter = Counter()
    try:
        for *_, plan in entries:
            sub, live = claim(c, plan, req["profile"])
            subs.append(sub)
    except BaseException:
        _release(c, subs)
        raise
    return subs, live


def _release(c: Services, subs: list[Submitted]) -> None:
    for sub in subs:
        if sub.enqueued:
            c.store.forget(sub.id, sub.record["run"])


def create_sweep(c: Services, req: dict) -> dict:
    """Plan every (strategy, factor) of ``req``, claim them, then queue their jobs and save the
    sweep record in one step: all of them, or none (QueueFull / NoWorker)."""
    entries = [(strategy, alpha, factor, plan_strategy(req, strategy, alpha, factor=factor))
               for strategy, alpha in strategy_items(req["strategies"]) for factor in req["factors"]]
    subs, live = _claim_all(c, req, entries)
    rows = [{"strategy": s, "alpha": a, "factor": f, "profile_id": sub.id} for (s, a, f, _), sub in zip(entries, subs)]
    device_class = subs[0].device_class
    sid = content_id({"rows": [[r["strategy"], r["alpha"], r["factor"], r["profile_id"]] for r in rows],
                      "device": device_class})
    settings = subs[0].record["profile"]
    record = {"id": sid, "device_class": device_class, "base": entries[0][3]["base"]["name"], "rows": rows,
              "profile": {k: settings.get(k) for k in SETTINGS_SHOWN}, "created_at": now_iso()}
    jobs = [sub.record for sub in subs if sub.enqueued]
    try:
        if jobs:
            require_worker(c, device_class, live)
        enqueue_all_or_none(c.redis, c.settings, device_class, jobs, prepare=stage_new(c, record, req["profile"]),
                            watch=(c.keys.sweep(sid),))
    except BaseException:
        _release(c, subs)
        raise
    if jobs:
        c.store.count("cache_misses", len(jobs))
    finalize_if_done(c, sid)  # every row may have been cached already
    return {"id": sid, "status": "queued", "total": len(rows), "device_class": device_class,
            "links": sweep_links(sid)}


def _measured(row: dict, result: dict) -> None:
    """A finished row's times, each with what says whether to trust it (n, stop reason, CI)."""
    for mode in MODES:
        if mode in result:
            m = result[mode]
            row[f"{mode}_ms"] = m["median_ms"]
            row[f"{mode}_stable"] = m["stable"]
            row.update({f"{mode}_{k}": m[k] for k in TIMING_FIELDS if k in m})


def _row(r: dict, p: dict) -> dict:
    """One sweep row: its request, its plan's figures and, once measured, its times."""
    row = {**r, "label": r["strategy"] + (f" (alpha {r['alpha']:g})" if r["alpha"] is not None else ""),
           "status": p["status"]}
    if "plan" in p:
        cx = p["plan"]["complexity"]
        row.update(flops=cx["flops"], params=cx["params"], acts=cx["acts"], resolution=p["plan"]["resolution"],
                   achieved_factor=p["plan"]["achieved_factor"])
    if p["status"] == "finished":
        _measured(row, p["result"])
    if p["status"] == "failed":
        row["error"] = p.get("error")
    return row


def _status(rows: list[dict], done: int, failed: int) -> str:
    if done == len(rows):
        return "failed" if failed else "finished"
    return "started" if any(r["status"] != "queued" for r in rows) else "queued"


def _measurement(sweep: dict, profiles: list[dict]) -> dict:
    """How the rows were measured (batch, dtype, device name): what a reader needs beside a time."""
    first = next((p for p in profiles if p.get("profile")), {})
    shown = sweep.get("profile") or {k: first.get("profile", {}).get(k) for k in SETTINGS_SHOWN}
    device = next((p["result"]["device"] for p in profiles if p.get("status") == "finished"
                   and "device" in (p.get("result") or {})), {})
    return {**shown, "device_class": sweep["device_class"], "device": device.get("name")}


def load_sweep(c: Services, sid: str) -> dict:
    """The sweep as GET /sweep/{id} answers it: rows from their profiles, analysis once done.

    ``sid`` must already be a valid id (the API checks it before calling).
    """
    raw = c.redis.get(c.keys.sweep(sid))
    if raw is None:
        raise NotFound(f"no sweep {sid}: unknown, or expired")
    sweep = json.loads(raw)
    raws = c.redis.mget([c.keys.profile(r["profile_id"]) for r in sweep["rows"]])
    profiles = [json.loads(raw_p) if raw_p else {"status": "expired"} for raw_p in raws]
    rows = [_row(r, p) for r, p in zip(sweep["rows"], profiles)]
    done = sum(p["status"] in ("finished", "failed", "expired", "cancelled") for p in profiles)
    failed = sum(p["status"] in ("failed", "expired", "cancelled") for p in profiles)
    out = {"id": sid, "status": _status(rows, done, failed), "done": done, "total": len(rows),
           "device_class": sweep["device_class"], "base": sweep["base"], "rows": rows, "created_at": sweep["created_at"],
           "measurement": _measurement(sweep, profiles)}
    out.update(recorded(sweep))
    if done == len(rows):
        out["analysis"] = analyse([r for r in rows if r["status"] == "finished"])
    return out


def _title(sweep: dict) -> str:
    m = sweep["measurement"]
    on = f"{m['device']} ({m['device_class']})" if m.get("device") else m["device_class"]
    layout = ", channels_last" if m.get("channels_last") else ""
    return f"{sweep['base']} on {on}: batch {m.get('batch_size')}, {m.get('dtype')}{layout}"


def sweep_plot(c: Services, sid: str, fmt: str) -> bytes:
    """The sweep's figure as PNG or SVG bytes; only once every row is done.

    Rendering costs 0.4-0.7 s of CPU, so each figure is kept in Redis beside a version (a hash of
    the rows it shows): a repeated GET renders nothing until a row changes (a re-measurement).
    """
    sweep = load_sweep(c, sid)
    if sweep["status"] not in ("finished", "failed"):
        raise NotFinished(f"sweep {sid} is not done yet ({sweep['done']}/{sweep['total']}); poll GET /sweep/{sid}")
    version = content_id({"rows": sweep["rows"], "measurement": sweep["measurement"], "plot": PLOT_VERSION})
    key = c.keys.sweep_plot(sid, fmt)
    cached_version, image = c.redis.hmget(key, ["version", "image"])
    if cached_version is not None and cached_version.decode() == version and image is not None:
        return image
    rows = [r for r in sweep["rows"] if r["status"] == "finished"]
    image = sweep_figure(rows, sweep["analysis"], _title(sweep), fmt)
    pipe = c.redis.pipeline()
    pipe.hset(key, mapping={"version": version, "image": image})
    pipe.expire(key, c.settings.result_ttl_s)
    pipe.execute()
    return image
