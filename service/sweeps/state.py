"""A sweep's own state beside its rows: when it became final, its index entries, its cancellation.

A sweep's rows are profiles, and GET /sweep derives its status from them (service.sweeps.document). What
that cannot give is a moment at which the sweep *became* final, which callbacks, listings and
event streams need. So the sweep record also carries ``status`` (running, then finished, failed or
cancelled) and a ``run`` number, and ``finalize_if_done`` moves it to its final status in one
transaction with its index entries and its outbox event. It is called when the sweep is created
(its rows may all be cached) and from the outbox for every final profile that is a row of a sweep
(``Keys.sweeps_of``), so it never waits on anyone polling.
"""

from __future__ import annotations

import json

from service.listing import indexes
from service.errors import AlreadyDone, NotFound, ServiceError
from service.notify.outbox import add_event
from service.profiles.store import now_iso
from service.listing.summaries import sweep_summary
from service.sweeps.document import load_sweep

FINAL = ("finished", "failed", "cancelled")


def _index(pipe, c, record: dict, old: dict | None) -> None:
    indexes.write(pipe, c.keys, "sweep", record["id"], indexes.sweep_fields(record),
                  indexes.created_ms(record["created_at"]), c.settings.result_ttl_s,
                  indexes.sweep_fields(old) if old else None, sweep_summary(record))


def stage_new(c, record: dict, profile: dict):
    """For a transaction that WATCHes the sweep's key: ``prepare(pipe)`` reads the stored sweep
    (before MULTI) and returns the writes that store ``record`` (or a new run of a cancelled or
    failed one; a live one is kept), its index entries and its rows' back references, so the sweep
    is saved in the same step as its jobs (service.profiles.jobs.enqueue_all_or_none)."""
    sid, key, ttl = record["id"], c.keys.sweep(record["id"]), c.settings.result_ttl_s

    def prepare(pipe):
        raw = pipe.get(key)
        old = json.loads(raw) if raw else None

        def write(pipe) -> None:
            if old is not None and old.get("status", "running") in ("running", "finished"):
                pipe.expire(key, ttl)
                indexes.follow_ttl(pipe, c.keys, "sweep", sid)
            else:
                shown = record.get("profile") or {"dtype": profile["dtype"], "batch_size": profile["batch_size"]}
                new = {**record, "status": "running", "run": (old or {}).get("run", 0) + 1, "profile": shown}
                pipe.set(key, json.dumps(new), ex=ttl)
                _index(pipe, c, new, old)
            for row in record["rows"]:
                pipe.sadd(c.keys.sweeps_of(row["profile_id"]), sid)
                pipe.expire(c.keys.sweeps_of(row["profile_id"]), ttl)

        return write

    return prepare


def _finalize(c, sid: str, status_of) -> dict | None:
    """Move a running sweep to ``status_of(record)`` (None: leave it) with its index and event."""
    key = c.keys.sweep(sid)
    done: dict = {}

    def tx(pipe) -> None:
        raw = pipe.get(key)
        old = json.loads(raw) if raw else None
        status = status_of(old) if old and old.get("status", "running") == "running" else None
        pipe.multi()
        if status is None:
            return
        new = {**old, "status": status, "finished_at": now_iso()}
        pipe.set(key, json.dumps(new), keepttl=True)
        _index(pipe, c, new, old)
        document = {**load_sweep(c, sid), "status": status, "run": new["run"], "finished_at": new["finished_at"]}
        add_event(pipe, c.keys, "sweep", sid, new["run"], status, document)
        pipe.publish(c.keys.events("sweep", sid), json.dumps({"status": status}))
        done["record"] = new

    c.redis.transaction(tx, key)
    return done.get("record")


def finalize_if_done(c, sid: str) -> dict | None:
    """If every row of the sweep is done, record its final status (once); the new record or None."""
    try:
        derived = load_sweep(c, sid)["status"]
    except NotFound:
        return None
    return _finalize(c, sid, lambda _old: derived if derived in ("finished", "failed") else None)


def on_profile_final(c, pid: str) -> None:
    """A profile reached a final state: the sweeps it is a row of may have too."""
    for sid in c.redis.smembers(c.keys.sweeps_of(pid)):
        finalize_if_done(c, sid.decode())


def cancel_sweep(c, sid: str, keep=lambda pid: False) -> dict:
    """Cancel the sweep and every row still queued or running (they are profiles: see cancel),
    but those ``keep(profile id)`` says someone else still waits on (service.access.tenants)."""
    from service.profiles.cancel import cancel_profile

    sweep = load_sweep(c, sid)
    if sweep["status"] in FINAL:
        raise AlreadyDone(f"sweep {sid} is already {sweep['status']}; there is nothing to cancel")
    if _finalize(c, sid, lambda _old: "cancelled") is None:
        raise AlreadyDone(f"sweep {sid} ended before it could be cancelled")
    for row in sweep["rows"]:
        if row["status"] in ("queued", "started") and not keep(row["profile_id"]):
            try:
                cancel_profile(c, row["profile_id"])
            except ServiceError:  # it ended meanwhile: nothing to stop
                pass
    return load_sweep(c, sid)
