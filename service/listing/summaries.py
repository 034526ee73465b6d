"""One line per record for listings (GET /profiles, /sweeps, /recommendations and the /ui tables):
what a person scans for, with the link to the whole document. Listing whole documents would send
every plan's architecture for every row; a client follows ``links.self`` for the rest.

Each record's summary is also stored, already encoded, beside the record (``Keys.summary``, written
by service.listing.indexes in the same MULTI as the record), so a listing page is the search plus the
bytes of its lines, with no record parsed in the API. A summary is a pure function of its record:
nothing here may depend on the time of the read. Raise ``FORMAT`` whenever what these functions
return changes: stored summaries of the old format are then neither read nor written (the listing
summarises those records from the records themselves until they are rewritten or expire); old
lines of records without a TTL stay behind until deleted (``<prefix>:summary:*:v<old>:*``).
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

FORMAT = 2  # 2: each time with its n, stable and stop_reason (issue 24)


def encode(summary: dict) -> bytes:
    """A summary as the listing sends it: the compact UTF-8 JSON that starlette's JSONResponse
    writes (so a page assembled from stored lines is byte for byte the page it would render)."""
    return json.dumps(summary, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


def cached_age_s(record: dict) -> float | None:
    """Seconds since a cached result was measured (its finished_at), for clients to judge it."""
    if not record.get("finished_at"):
        return None
    return round((datetime.now(timezone.utc) - datetime.fromisoformat(record["finished_at"])).total_seconds(), 1)


def profile_summary(rec: dict) -> dict:
    plan, prof, result = rec.get("plan") or {}, rec.get("profile") or {}, rec.get("result") or {}
    out = {
        "id": rec["id"], "status": rec["status"], "model": (plan.get("base") or {}).get("name"),
        "strategy": (plan.get("strategy") or {}).get("name"), "factor": plan.get("requested_factor"),
        "achieved_factor": plan.get("achieved_factor"), "resolution": plan.get("resolution"),
        "device_class": rec.get("device_class"), "dtype": prof.get("dtype"), "batch_size": prof.get("batch_size"),
        "complexity": plan.get("complexity"), "created_at": rec.get("created_at"),
        "finished_at": rec.get("finished_at"), "links": {"self": f"/profile/{rec['id']}"},
    }
    for mode in ("inference", "training"):
        if isinstance(result.get(mode), dict):  # a time never without what it is worth
            m = result[mode]
            out.update({f"{mode}_ms": m.get("median_ms"), f"{mode}_n": m.get("n"), f"{mode}_stable": m.get("stable"),
                        f"{mode}_stop_reason": m.get("stop_reason")})
    if rec.get("error"):
        out["error"] = rec["error"]
    return out


def sweep_summary(record: dict) -> dict:
    rows = record.get("rows", [])
    return {
        "id": record["id"], "status": record.get("status", "running"), "model": record.get("base"),
        "device_class": record.get("device_class"), "total": len(rows),
        "strategies": sorted({r["strategy"] for r in rows}), "factors": sorted({r["factor"] for r in rows}),
        "created_at": record.get("created_at"), "finished_at": record.get("finished_at"),
        "links": {"self": f"/sweep/{record['id']}"},
    }


def recommendation_summary(state: dict) -> dict:
    chosen = state.get("chosen") or {}
    return {
        "id": state["id"], "status": state["status"], "model": state.get("model"),
        "device_class": state.get("device_class"), "constraint": state.get("constraint"),
        "chosen": {"strategy": chosen.get("strategy"), "factor": chosen.get("factor")} if chosen else None,
        "measured": len(state.get("evidence", [])), "created_at": state.get("started_at"),
        "finished_at": state.get("finished_at"), "links": {"self": f"/recommend/{state['id']}"},
    }
