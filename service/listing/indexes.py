"""Listing indexes in Redis: which profiles, sweeps and recommendations exist, newest first, by field.

For each kind of record, one sorted set per (field, value), scored by the record's creation time
in milliseconds (``Keys.index``), plus one of every record. They are written by ``write`` inside
the same MULTI that writes the record (the store's transition hook, the sweep and recommendation
savers), so a listing never sees a record its index does not, or the reverse.

Records expire (finished profiles after FASTSCALE_RESULT_TTL_S, ...) and sorted-set members
cannot, so each indexed id also has its expiry time in ``Keys.index_expiry`` and the list of index
keys it is in under ``Keys.index_keys``. ``prune`` removes an id from all of them, atomically and
only if its record is really gone (a Lua script), and it runs lazily (a listing that meets an id
without a record) and periodically (``sweep_expired``), so no entry outlives its record for long.

``write`` also stores the record's listing line (service.listing.summaries) under ``Keys.summary``, with
the record's own TTL copied in the same MULTI (a Lua script reads it right after the record's
SET), so it expires with the record, never after it. A record without a line (written before
lines existed, or whose summary is not valid JSON) is summarised from the record by the listing.
"""

from __future__ import annotations

import json
import time
from datetime import datetime

import redis

from fastscale.errors import ScalingError
from fastscale.strategies import canonical

from service.redis.keys import Keys
from service.listing.summaries import FORMAT, encode

FIELDS = ("model", "strategy", "device_class", "status", "dtype", "batch_size")
KINDS = ("profile", "sweep", "recommendation")
MAX_VALUE_CHARS = 96

_PRUNE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local raw = redis.call('HGET', KEYS[2], ARGV[1])
if raw then
  for _, key in ipairs(cjson.decode(raw)) do redis.call('ZREM', key, ARGV[1]) end
end
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('DEL', KEYS[4])
if KEYS[5] then
  for _, owner in ipairs(redis.call('SMEMBERS', KEYS[5])) do redis.call('ZREM', ARGV[2] .. owner, ARGV[1]) end
  redis.call('DEL', KEYS[5])
end
return 1
"""

# The listing line (ARGV[1]; none: the stored one, if any) takes the record's remaining TTL (a
# millisecond less: PX counts from a clock that may have ticked since PTTL), or none when the
# record has none.
_SUMMARY = """
local ttl = redis.call('PTTL', KEYS[1])
if ttl == -2 or ttl == 0 or ttl == 1 then return redis.call('DEL', KEYS[2]) end
if ARGV[1] == nil then
  if ttl == -1 then return redis.call('PERSIST', KEYS[2]) end
  return redis.call('PEXPIRE', KEYS[2], ttl - 1)
end
if ttl == -1 then return redis.call('SET', KEYS[2], ARGV[1]) end
return redis.call('SET', KEYS[2], ARGV[1], 'PX', ttl - 1)
"""


def normalise(value, field: str | None = None, strict: bool = False) -> str:
    """How a field value is spelled in a key: lowercase text (model names are case-insensitive),
    except a strategy, which is its canonical name, case kept (``dwr`` is not ``dWr``; ``wdr`` and
    ``d1_w1_r1`` are ``dwr``: fastscale.strategies). A strategy that is none: ScalingError when
    ``strict`` (a filter), else the text as given (a record written before names were canonical)."""
    if field == "strategy":
        try:
            return canonical(str(value).strip())[0][:MAX_VALUE_CHARS]
        except ScalingError:
            if strict:
                raise
            return str(value).strip()[:MAX_VALUE_CHARS]
    return str(value).strip().lower()[:MAX_VALUE_CHARS]


def created_ms(iso: str | None) -> int:
    return int(datetime.fromisoformat(iso).timestamp() * 1000) if iso else int(time.time() * 1000)


def record_key(keys: Keys, kind: str, rid: str) -> str:
    return {"profile": keys.profile, "sweep": keys.sweep, "recommendation": keys.recommendation}[kind](rid)


def summary_key(keys: Keys, kind: str, rid: str = "") -> str:
    return keys.summary(kind, FORMAT, rid)


def index_keys(keys: Keys, kind: str, fields: dict) -> list[str]:
    """Every index key a record with these field values belongs to (a list value: one key each)."""
    out = [keys.index(kind)]
    for field in FIELDS:
        values = fields.get(field)
        for value in values if isinstance(values, (list, tuple)) else [values]:
            if value is not None:
                out.append(keys.index(kind, field, normalise(value, field)))
    return sorted(set(out))


def write(pipe, keys: Keys, kind: str, rid: str, fields: dict, created: int, ttl_s: int | None,
          old_fields: dict | None = None, summary: dict | None = None) -> None:
    """Index ``rid`` (inside the caller's MULTI, after the record's SET): its keys, its expiry, out
    of keys it left, and its listing line (``summary``; None drops a stored one, never stale)."""
    new_keys = index_keys(keys, kind, fields)
    if old_fields is not None:
        stale = set(index_keys(keys, kind, old_fields)) - set(new_keys)
        for key in stale:
            pipe.zrem(key, rid)
    for key in new_keys:
        pipe.zadd(key, {rid: created})
    pipe.hset(keys.index_keys(kind), rid, json.dumps(new_keys))
    if ttl_s:
        pipe.zadd(keys.index_expiry(kind), {rid: int(time.time() * 1000) + ttl_s * 1000})
    else:
        pipe.zrem(keys.index_expiry(kind), rid)
    _write_summary(pipe, keys, kind, rid, summary)


def _write_summary(pipe, keys: Keys, kind: str, rid: str, summary: dict | None) -> None:
    try:
        line = encode(summary) if summary is not None else None
    except ValueError:  # NaN or infinity: the listing answers for this record as it always did
        line = None
    if line is None:
        pipe.delete(summary_key(keys, kind, rid))
    else:  # EVAL, not EVALSHA: a script cache flushed by a restart cannot fail this one write
        pipe.eval(_SUMMARY, 2, record_key(keys, kind, rid), summary_key(keys, kind, rid), line)


def follow_ttl(pipe, keys: Keys, kind: str, rid: str) -> None:
    """After the record's TTL changed without a rewrite (inside the caller's MULTI): its line's too."""
    pipe.eval(_SUMMARY, 2, record_key(keys, kind, rid), summary_key(keys, kind, rid))


def remove(pipe, keys: Keys, kind: str, rid: str, fields: dict) -> None:
    """Drop ``rid`` from the indexes (inside the caller's MULTI), when its record is deleted."""
    for key in index_keys(keys, kind, fields):
        pipe.zrem(key, rid)
    pipe.hdel(keys.index_keys(kind), rid)
    pipe.zrem(keys.index_expiry(kind), rid)
    pipe.delete(summary_key(keys, kind, rid))


def prune(r: redis.Redis, keys: Keys, kind: str, ids) -> int:
    """Remove each id whose record no longer exists from every index; how many were removed."""
    script = r.register_script(_PRUNE)
    # The owners' indexes (service.access.tenants) are named from the owners set, in the script.
    return sum(script(keys=[record_key(keys, kind, rid), keys.index_keys(kind), keys.index_expiry(kind),
                            summary_key(keys, kind, rid), keys.owners(kind, rid)],
                      args=[rid, keys.index(kind, "owner", "")])
               for rid in ids)


def sweep_expired(r: redis.Redis, keys: Keys, batch: int = 1000) -> int:
    """Prune ids whose records' expiry time has passed (the periodic half of expiring with them)."""
    now = int(time.time() * 1000)
    removed = 0
    for kind in KINDS:
        due = [m.decode() for m in r.zrangebyscore(keys.index_expiry(kind), "-inf", now, start=0, num=batch)]
        removed += prune(r, keys, kind, due)
        # Still there (the TTL was extended, e.g. re-measured): look again later, not every round.
        alive = {rid: now + 60_000 for rid in due if r.exists(record_key(keys, kind, rid))}
        if alive:
            r.zadd(keys.index_expiry(kind), alive, xx=True)
    return removed


# ---------------------------------------------------------------------------------------- fields
def profile_fields(rec: dict) -> dict:
    plan, prof = rec.get("plan") or {}, rec.get("profile") or {}
    return {"model": (plan.get("base") or {}).get("name"), "strategy": (plan.get("strategy") or {}).get("name"),
            "device_class": rec.get("device_class"), "status": rec.get("status"), "dtype": prof.get("dtype"),
            "batch_size": prof.get("batch_size")}


def sweep_fields(record: dict, req: dict | None = None) -> dict:
    prof = (req or {}).get("profile") or record.get("profile") or {}
    return {"model": record.get("base"), "strategy": sorted({r["strategy"] for r in record.get("rows", [])}),
            "device_class": record.get("device_class"), "status": record.get("status", "running"),
            "dtype": prof.get("dtype"), "batch_size": prof.get("batch_size")}


def recommendation_fields(state: dict) -> dict:
    req = state.get("request") or {}
    strategies = [req["strategy"]] if req.get("latency_budget_ms") is not None else \
        [c if isinstance(c, str) else c["strategy"] for c in req.get("candidates", [])]
    return {"model": state.get("model"), "strategy": strategies, "device_class": state.get("device_class"),
            "status": state.get("status"), "dtype": (req.get("profile") or {}).get("dtype"),
            "batch_size": (req.get("profile") or {}).get("batch_size")}
