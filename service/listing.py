"""Listing records newest first with filters and cursor pagination (GET /profiles, /sweeps,
/recommendations), answered from the indexes of service.indexes.

One Lua script does the search on the Redis server in one round trip. With several filters whose
smallest set is at most INTERSECT_MAX ids, Redis intersects them (ZINTERSTORE into a scratch key
the script deletes again); otherwise the script walks the smallest set and keeps ids that are in
every other one (ZSCORE, smallest sets first). Either way it walks from the cursor down (by
creation time, then id) and stops after ``limit + 1`` hits or ``SCAN_BUDGET`` ids looked at. The second bound keeps a page fast even when filters rarely meet; such a page may hold fewer
than ``limit`` items while ``next`` is still set (as with any cursor API: follow ``next`` until it
is null). Records that expired since they were indexed are pruned on the way (service.indexes).

A cursor is the (creation time, id) of the last item a page covered, base64url-encoded: stable
while records are added (new ones are newer than any cursor) and cheap to resume from.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import uuid
from dataclasses import dataclass

from service.errors import InvalidRequest
from service.indexes import FIELDS, created_ms, normalise, prune, record_key
from service.keys import Keys

MAX_LIMIT = 200
SCAN_BUDGET = 5000
INTERSECT_MAX = 20_000  # intersect in Redis when the smallest filter set is at most this large
_BATCH = 200

_SEARCH = """
local limit, budget, inter_max = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[7])
local maxs, mins, cs, cm = ARGV[3], ARGV[4], tonumber(ARGV[5]), ARGV[6]
local total = math.max(1, redis.call('ZCARD', KEYS[2]))
local order = {}
for i = 3, #KEYS do order[#order + 1] = {KEYS[i], redis.call('ZCARD', KEYS[i])} end
table.sort(order, function(a, b) return a[2] < b[2] end)
local primary, others = KEYS[2], {}
if #order > 0 then primary = order[1][1] end
-- How many ids the walk would look at for a page, if the filters were independent.
local density = 1
for i = 2, #order do density = density * order[i][2] / total end
if #order > 1 and order[1][2] <= inter_max and (limit + 1) / math.max(density, 1e-9) > order[1][2] / 4 then
  -- Sparse matches among a few thousand ids: let Redis intersect the sets (in C), then walk that.
  local args = {'ZINTERSTORE', KEYS[1], #order}
  for i = 1, #order do args[#args + 1] = order[i][1] end
  args[#args + 1] = 'AGGREGATE'
  args[#args + 1] = 'MAX'
  redis.call(unpack(args))
  primary = KEYS[1]
else
  for i = 2, #order do others[#others + 1] = order[i][1] end
end
local function walk()
  local out, offset, scanned, last = {}, 0, 0, {}
  while scanned < budget do
    local batch = redis.call('ZREVRANGEBYSCORE', primary, maxs, mins, 'WITHSCORES', 'LIMIT', offset, %d)
    if #batch == 0 then return {out, {}} end
    for i = 1, #batch, 2 do
      local m, s = batch[i], batch[i + 1]
      scanned = scanned + 1
      if not (cs and tonumber(s) == cs and m >= cm) then
        local ok = true
        for k = 1, #others do  -- smallest sets first: most candidates fail early
          if not redis.call('ZSCORE', others[k], m) then ok = false break end
        end
        if ok then
          out[#out + 1] = m
          out[#out + 1] = s
          if #out / 2 > limit then return {out, {}} end
        end
      end
      last = {m, s}
    end
    offset = offset + %d
  end
  return {out, last}
end
local result = walk()
redis.call('DEL', KEYS[1])
return result
""" % (_BATCH, _BATCH)


@dataclass
class Query:
    kind: str
    filters: dict
    since: str | None = None
    until: str | None = None
    cursor: str | None = None
    limit: int = 50


def encode_cursor(score: int, rid: str) -> str:
    return base64.urlsafe_b64encode(f"{score}:{rid}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, str]:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        score, rid = text.split(":", 1)
        return int(score), rid
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidRequest("is not a cursor this API gave out", "cursor", "the `next` of the previous page") from None


def _bound(value: str | None, field: str) -> int | None:
    if value is None:
        return None
    try:
        return created_ms(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidRequest(f"{value[:40]!r} is not a date-time", field, "ISO 8601, e.g. 2026-11-28T12:00:00Z") from None


def _script_call(keys: Keys, q: Query) -> tuple[list[str], list]:
    """The search script's keys and arguments for ``q`` (its bounds and cursor checked)."""
    if not 1 <= q.limit <= MAX_LIMIT:
        raise InvalidRequest(f"{q.limit} is out of range", "limit", f"1 <= limit <= {MAX_LIMIT}")
    index = [keys.index(q.kind, f, normalise(v)) for f, v in q.filters.items() if v is not None and f in FIELDS]
    since, until = _bound(q.since, "since"), _bound(q.until, "until")
    top = until if until is not None else "+inf"
    cursor_score, cursor_id = decode_cursor(q.cursor) if q.cursor else (None, "")
    if cursor_score is not None:
        top = cursor_score if top == "+inf" else min(top, cursor_score)
    scratch = keys.index(q.kind, "search", uuid.uuid4().hex)  # the intersection, deleted by the script
    return [scratch, keys.index(q.kind), *index], [q.limit, SCAN_BUDGET, top, since if since is not None else "-inf",
                                                   cursor_score if cursor_score is not None else "", cursor_id,
                                                   INTERSECT_MAX]


def _results(found, last, q: Query) -> tuple[list[tuple[str, int]], str | None]:
    pairs = [(found[i].decode(), int(float(found[i + 1]))) for i in range(0, len(found), 2)]
    if len(pairs) > q.limit:
        pairs = pairs[:q.limit]
        return pairs, encode_cursor(pairs[-1][1], pairs[-1][0])
    if last:
        return pairs, encode_cursor(int(float(last[1])), last[0].decode())
    return pairs, None


def search(r, keys: Keys, q: Query) -> tuple[list[tuple[str, int]], str | None]:
    """(id, created ms) of one page, newest first, and the cursor of the next page (None: no more)."""
    script_keys, args = _script_call(keys, q)
    found, last = r.register_script(_SEARCH)(keys=script_keys, args=args)
    return _results(found, last, q)


def _items(q: Query, pairs, raws, summarise) -> tuple[list[dict], list[str]]:
    items, gone = [], []
    for (rid, _), raw in zip(pairs, raws):
        if raw is None:
            gone.append(rid)
        else:
            items.append(summarise(json.loads(raw)))
    return items, gone


def page(r, keys: Keys, q: Query, summarise) -> dict:
    """``{"items": [summarise(record)...], "next": cursor}``; ids whose record is gone are pruned."""
    pairs, nxt = search(r, keys, q)
    raws = r.mget([record_key(keys, q.kind, rid) for rid, _ in pairs]) if pairs else []
    items, gone = _items(q, pairs, raws, summarise)
    if gone:
        prune(r, keys, q.kind, gone)
    return {"items": items, "next": nxt}


async def apage(c, q: Query, summarise) -> dict:
    """``page`` on the async Redis client: the API's listing routes run on the event loop, with
    no thread hand-off (whose GIL switching costs milliseconds on a busy host)."""
    script_keys, args = _script_call(c.keys, q)
    found, last = await c.aredis.register_script(_SEARCH)(keys=script_keys, args=args)
    pairs, nxt = _results(found, last, q)
    raws = await c.aredis.mget([record_key(c.keys, q.kind, rid) for rid, _ in pairs]) if pairs else []
    items, gone = _items(q, pairs, raws, summarise)
    if gone:
        await asyncio.to_thread(prune, c.redis, c.keys, q.kind, gone)
    return {"items": items, "next": nxt}
