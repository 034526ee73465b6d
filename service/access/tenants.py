"""Keys as tenants (issue 23): each submission records the hash of the key that made it, and a key
sees in listings, records and events only what it submitted.

- Owners: ``Keys.owners(kind, id)`` is the set of key hashes that submitted a record; the record
  is listed in ``Keys.index(kind, "owner", hash)`` for each (the listing's owner filter), and both
  leave with the record (service.listing.indexes prunes them). Identical requests still share one
  profile and its cached result: the second key becomes an owner too.
- Waiting: ``Keys.waiters(kind, id, run)`` is the set of keys still waiting on a run. DELETE by a
  key withdraws that key's interest (and its callback subscriptions); the job is cancelled only
  when no other key still waits on it.
- Callbacks: every recorded attempt carries its subscriber's key hash (``owner``); a key is shown
  only its own attempts, never another key's callback URL.
- Keys in FASTSCALE_ADMIN_KEY_HASHES see everything; without API keys configured there are no
  tenants (every caller is ``ANYONE``), as before.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from service.errors import NotFound
from service.listing.indexes import created_ms

KINDS = ("profile", "sweep", "recommendation")


@dataclass(frozen=True)
class Tenant:
    owner: str  # the caller's key hash; "" when no keys are configured
    admin: bool

    @property
    def sees_all(self) -> bool:
        return self.admin or not self.owner


ANYONE = Tenant("", True)


def record_interest(c, tenant: Tenant, kind: str, rid: str, run: int | None, created_at: str | None,
                    ttl_s: int | None = None) -> None:
    """``tenant`` submitted ``rid`` (run ``run`` still to come, or None when it is final)."""
    if not tenant.owner:
        return
    ttl = ttl_s or c.settings.result_ttl_s
    pipe = c.redis.pipeline()
    pipe.sadd(c.keys.owners(kind, rid), tenant.owner)
    pipe.expire(c.keys.owners(kind, rid), ttl)  # the index prune deletes it with the record, if sooner
    pipe.zadd(c.keys.index(kind, "owner", tenant.owner), {rid: created_ms(created_at)})
    if run is not None:
        pipe.sadd(c.keys.waiters(kind, rid, run), tenant.owner)
        pipe.expire(c.keys.waiters(kind, rid, run), ttl)
    pipe.execute()


def share_evidence(c, tenant: Tenant, state: dict) -> None:
    """The profiles a recommendation measured are its owners' to read too (its evidence rows name
    them): granted when an owner reads the recommendation, since the search that submits them runs
    for every key that asked."""
    ids = sorted({row["profile_id"] for row in state.get("evidence") or [] if row.get("profile_id")})
    if not tenant.owner or not ids:
        return
    pipe = c.redis.pipeline()
    for pid in ids:
        pipe.sadd(c.keys.owners("profile", pid), tenant.owner)
        pipe.expire(c.keys.owners("profile", pid), c.settings.result_ttl_s)
    pipe.execute()


def owns(c, tenant: Tenant, kind: str, rid: str) -> bool:
    return tenant.sees_all or bool(c.redis.sismember(c.keys.owners(kind, rid), tenant.owner))


async def aowns(c, tenant: Tenant, kind: str, rid: str) -> bool:
    return tenant.sees_all or bool(await c.aredis.sismember(c.keys.owners(kind, rid), tenant.owner))


def unknown(kind: str, rid: str) -> NotFound:
    """What a key is told of another key's record: the same as of no record at all."""
    return NotFound(f"no {kind} {rid}: unknown, or expired")


def require(c, tenant: Tenant, kind: str, rid: str) -> None:
    if not owns(c, tenant, kind, rid):
        raise unknown(kind, rid)


async def arequire(c, tenant: Tenant, kind: str, rid: str) -> None:
    if not await aowns(c, tenant, kind, rid):
        raise unknown(kind, rid)


def visible(doc: dict, tenant: Tenant) -> dict:
    """``doc`` with only ``tenant``'s own callback attempts."""
    if tenant.admin or "callbacks" not in doc:
        return doc
    mine = [a for a in doc.get("callbacks") or [] if a.get("owner", "") == tenant.owner]
    return {**doc, "callbacks": mine}


def visible_bytes(raw: bytes, tenant: Tenant) -> bytes:
    """``visible`` for a stored JSON document, without parsing one that has no callbacks."""
    if tenant.admin or b'"callbacks"' not in raw:
        return raw
    return json.dumps(visible(json.loads(raw), tenant)).encode()


def withdraw(c, tenant: Tenant, kind: str, rid: str, run: int) -> int:
    """Drop ``tenant``'s wait on ``run`` of ``rid``; how many other keys still wait (0: nothing holds
    the job any longer, and the caller cancels it). While others wait, its callback subscriptions
    to the run go too (it withdrew); the last key keeps them, so it is told ``*.cancelled``."""
    from service.notify.callbacks import parse_subscription

    pipe = c.redis.pipeline()
    pipe.srem(c.keys.waiters(kind, rid, run), tenant.owner)
    pipe.scard(c.keys.waiters(kind, rid, run))
    remaining = int(pipe.execute()[-1])
    if remaining:
        subs = c.keys.subscribers(kind, rid, run)
        mine = [m for m in c.redis.smembers(subs) if parse_subscription(m)[1] == tenant.owner]
        if mine:
            c.redis.srem(subs, *mine)
    return remaining


def others_wait(c, tenant: Tenant, kind: str, rid: str, run: int) -> bool:
    """DELETE by ``tenant``: withdraw its interest in ``run`` of ``rid``; whether another key still
    waits on it (then the job must go on). An admin, or no keys configured, withdraws everyone's."""
    if tenant.sees_all:
        return False
    return withdraw(c, tenant, kind, rid, run) > 0


def current_run(c, kind: str, rid: str) -> int:
    """The run of a stored record (1 for a record that never had another)."""
    from service.listing.indexes import record_key

    raw = c.redis.get(record_key(c.keys, kind, rid))
    return int(json.loads(raw).get("run", 1)) if raw else 1
