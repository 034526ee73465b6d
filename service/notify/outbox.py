"""The durable outbox behind completion callbacks: final-state events and callback deliveries.

A record's final state (finished, failed, cancelled) and its event are written in one MULTI
(``add_event``, called by the record's transition hook), so an event exists if and only if the
state does; nothing is lost when a process dies between the result and the delivery. Every API
process runs ``outbox_loop``: it claims due events and deliveries from two sorted sets scored by
due time (a Lua script moves a claimed item's score ``outbox_claim_s`` into the future, so an item
whose claimer died is claimed again later by anyone), and only deletes an item once its work is
done. Events expand into one delivery per subscriber (service.notify.callbacks) and, for profiles, check
the sweeps the profile is a row of (service.sweeps.state). Expansion is idempotent: a delivery's id
is a hash of the event and the subscriber, created with NX. Deliveries are attempted concurrently
by service.notify.delivery, in a loop of their own, and retried with back-off.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time

from service.redis.keys import Keys

log = logging.getLogger("fastscale.outbox")

_CLAIM = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, member in ipairs(due) do redis.call('ZADD', KEYS[1], ARGV[2], member) end
return due
"""


def now_ms() -> int:
    return int(time.time() * 1000)


def event_name(kind: str, status: str) -> str:
    """``profile.finished``, ``sweep.cancelled``, ... (the X-Fastscale-Event header)."""
    return f"{kind}.{status}"


def add_event(pipe, keys: Keys, kind: str, rid: str, run: int, status: str, document: dict) -> None:
    """Queue the final-state event of ``rid`` (inside the caller's MULTI, with the state itself)."""
    eid = f"{kind}:{rid}:{run}:{status}"
    payload = {"id": eid, "kind": kind, "record": rid, "run": run, "event": event_name(kind, status),
               "document": document, "at": now_ms()}
    pipe.set(keys.outbox_event(eid), json.dumps(payload))
    pipe.zadd(keys.outbox_events, {eid: now_ms()}, nx=True)


def delivery_id(eid: str, url: str, owner: str = "") -> str:
    """The X-Fastscale-Delivery header: one per (event, subscriber), the same on every retry. The
    subscriber is the URL and the key that asked (two keys naming one URL are two subscribers)."""
    subscriber = f"{url}\n{owner}" if owner else url
    return hashlib.sha256(f"{eid}\n{subscriber}".encode()).hexdigest()[:32]


def add_delivery(pipe, keys: Keys, event: dict, url: str, due_ms: int | None = None, owner: str = "") -> str:
    """Queue one delivery of ``event`` to ``url`` (NX: expanding an event twice adds it once)."""
    did = delivery_id(event["id"], url, owner)
    body = json.dumps(event["document"], sort_keys=True, separators=(",", ":"))
    item = {"id": did, "event_id": event["id"], "kind": event["kind"], "record": event["record"], "run": event["run"],
            "event": event["event"], "url": url, "owner": owner, "body": body, "attempts": 0, "created_ms": now_ms()}
    pipe.set(keys.outbox_delivery(did), json.dumps(item), nx=True)
    pipe.zadd(keys.outbox_deliveries, {did: due_ms or now_ms()}, nx=True)
    return did


def claim(r, zset: str, claim_s: float, n: int = 20) -> list[str]:
    """Up to ``n`` due members of ``zset``, each pushed ``claim_s`` later so no one else takes it."""
    now = now_ms()
    members = r.register_script(_CLAIM)(keys=[zset], args=[now, now + int(claim_s * 1000), n])
    return [m.decode() for m in members]


def load(r, key: str) -> dict | None:
    raw = r.get(key)
    return json.loads(raw) if raw else None


def process_events(c, expand) -> int:
    """Claim due events, ``expand(c, event)`` each, then delete it; how many were done."""
    done = 0
    for eid in claim(c.redis, c.keys.outbox_events, c.settings.outbox_claim_s):
        event = load(c.redis, c.keys.outbox_event(eid))
        if event is not None:
            expand(c, event)
        pipe = c.redis.pipeline()
        pipe.zrem(c.keys.outbox_events, eid)
        pipe.delete(c.keys.outbox_event(eid))
        pipe.execute()
        done += 1
    return done


async def outbox_loop(c, expand) -> None:
    """Run in every API process until cancelled: final-state events every ``outbox_poll_s``. The
    deliveries have their own loop (service.notify.delivery), so an event never waits behind one."""
    while True:
        try:
            busy = await asyncio.to_thread(process_events, c, expand)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - Redis down or a bad item: log, try again next round
            log.warning("outbox round failed: %s", exc)
            busy = 0
        if not busy:
            await asyncio.sleep(c.settings.outbox_poll_s)
