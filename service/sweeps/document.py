"""A sweep as GET /sweep/{id} answers it: its rows derived from their profiles whenever it is read,
so a sweep is never out of step with its measurements, and the paper's analysis once every row is
done. What the stored record adds (its run, callbacks and a cancellation) comes from ``recorded``.
"""

from __future__ import annotations

import json

from fastscale.prediction.analysis import MODES, analyse
from service.context import Services
from service.errors import NotFound

SETTINGS_SHOWN = ("batch_size", "dtype", "channels_last", "time_budget_s", "modes")
TIMING_FIELDS = ("n", "stop_reason", "rel_ci")


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
    """A sweep's status in the vocabulary of runs (sweeps and recommendations, as GET /sweeps lists
    and filters them): running until every row is final, then finished or failed; ``done`` and
    each row's own status (queued, started, ...) say how far it got."""
    if done == len(rows):
        return "failed" if failed else "finished"
    return "running"


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


def recorded(record: dict) -> dict:
    """What the stored record adds to the derived document: its run, callbacks and a cancellation."""
    out = {k: record[k] for k in ("run", "callbacks") if k in record}
    if record.get("status") == "cancelled":
        out.update(status="cancelled", finished_at=record.get("finished_at"))
    return out
