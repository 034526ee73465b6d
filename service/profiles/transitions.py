"""What goes into the same MULTI as every profile record transition, besides the record itself:
the listing indexes and line, the live-progress event, and (on a final state) the outbox event of the
completion callbacks. ``ProfileStore`` calls ``on_profile_transition`` from its two writers (claim
and update), so none of these can disagree with the record they describe.
"""

from __future__ import annotations

import json

from service.listing import indexes
from service.redis.keys import Keys
from service.notify.outbox import add_event
from service.listing.summaries import profile_summary

FINAL = ("finished", "failed", "cancelled")


def on_profile_transition(pipe, keys: Keys, pid: str, old: dict | None, new: dict | None, ttl: int | None) -> None:
    """Index, publish and (when it becomes final) queue the event of ``pid``'s change from old to new."""
    if new is None:
        if old is not None:
            indexes.remove(pipe, keys, "profile", pid, indexes.profile_fields(old))
        pipe.publish(keys.events("profile", pid), json.dumps({"status": "deleted"}))
        return
    old_fields = indexes.profile_fields(old) if old is not None else None
    indexes.write(pipe, keys, "profile", pid, indexes.profile_fields(new), indexes.created_ms(new.get("created_at")),
                  ttl, old_fields, profile_summary(new))
    pipe.publish(keys.events("profile", pid), json.dumps({"status": new["status"]}))
    if new["status"] in FINAL and (old is None or old.get("status") not in FINAL):
        add_event(pipe, keys, "profile", pid, new["run"], new["status"], new)


def publish_progress(pipe, keys: Keys, pid: str, progress: dict) -> None:
    """A running job's progress, for the /events streams (pub/sub: only live listeners get it)."""
    pipe.publish(keys.events("profile", pid), json.dumps({"status": "started", "progress": progress}))
