"""Sweeps: the paper's experiment on demand, one profile per (strategy, factor).

Each row is claimed exactly like POST /scale (so cached results are reused and duplicates share
a job), but queued all together or not at all: the jobs of every row that needs measuring and
the sweep record go to Redis in one transaction, refused whole when the queue has no room for all
of them (issue #13: ten refused sweeps once left 756 orphan jobs and no record). The record keeps
only the profile ids and the measurement settings; status, rows and analysis are derived from the
profiles whenever the sweep is read, so a sweep is never out of step with its measurements.
"""

from __future__ import annotations

from collections import Counter

from service.context import Services
from service.ids import content_id
from service.planning.cache import plan_strategy, strategy_items
from service.profiles.jobs import enqueue_all_or_none
from service.profiles.store import now_iso
from service.profiles.submit import Submitted, claim, require_worker
from service.sweeps.document import SETTINGS_SHOWN
from service.sweeps.state import finalize_if_done, stage_new


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


def _canonical_entries(plans: list[dict]) -> list[tuple]:
    """(strategy, alpha, factor, plan) per row under the plan's canonical strategy name
    (fastscale.strategies), each once: ``wdr`` is the row ``dwr``, and ``dwr,wdr`` one row."""
    seen, out = set(), []
    for plan in plans:
        key = (plan["strategy"]["name"], plan["strategy"].get("alpha"), plan["requested_factor"])
        if key not in seen:
            seen.add(key)
            out.append((*key, plan))
    return out


def create_sweep(c: Services, req: dict) -> dict:
    """Plan every (strategy, factor) of ``req``, claim them, then queue their jobs and save the
    sweep record in one step: all of them, or none (QueueFull / NoWorker)."""
    entries = _canonical_entries([plan_strategy(req, strategy, alpha, factor=factor)
                                  for strategy, alpha in strategy_items(req["strategies"]) for factor in req["factors"]])
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
