"""Listing records newest first with filters and cursor pagination (GET /profiles, /sweeps,
/recommendations), answered from the indexes of service.listing.indexes.

One Lua script (service.listing.search) does the search on the Redis server and returns the page's
stored listing lines (service.listing.summaries) in the same round trip: a page costs the API one call to
Redis and no record parsing, and the HTTP body is those lines joined (``apage_json``). The search
walks the smallest filter set from the cursor down (by creation time, then id) and stops after
``limit + 1`` hits or ``SCAN_BUDGET`` ids looked at. The second bound keeps a page fast even when
filters rarely meet; such a page may hold fewer than ``limit`` items while ``next`` is still set
(as with any cursor API: follow ``next`` until it is null). A hit without a stored line (a record
written before lines existed) is summarised from its record; a hit whose record expired since it
was indexed is left out and pruned on the way (service.listing.indexes).

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

from fastscale.errors import ScalingError
from service.errors import InvalidRequest
from service.listing.indexes import FIELDS, created_ms, normalise, prune, record_key, summary_key
from service.redis.keys import Keys
from service.listing.search import SEARCH
from service.listing.summaries import encode

MAX_LIMIT = 200
SCAN_BUDGET = 5000
INTERSECT_MAX = 20_000  # intersect in Redis when the smallest filter set is at most this large


@dataclass
class Query:
    kind: str
    filters: dict
    since: str | None = None
    until: str | None = None
    cursor: str | None = None
    limit: int = 50
    owner: str | None = None  # only records this key hash submitted (service.access.tenants)


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


def _filter_value(field: str, value) -> str:
    """A filter's index spelling; a strategy that is none is a 422 naming ``strategy``."""
    try:
        return normalise(value, field, strict=True)
    except ScalingError as exc:
        raise InvalidRequest(exc.message, field, exc.allowed) from None


def _script_call(keys: Keys, q: Query, lines: bool = False) -> tuple[list[str], list]:
    """The search script's keys and arguments for ``q`` (its bounds and cursor checked)."""
    if not 1 <= q.limit <= MAX_LIMIT:
        raise InvalidRequest(f"{q.limit} is out of range", "limit", f"1 <= limit <= {MAX_LIMIT}")
    index = [keys.index(q.kind, f, _filter_value(f, v)) for f, v in q.filters.items() if v is not None and f in FIELDS]
    if q.owner:
        index.append(keys.index(q.kind, "owner", q.owner))
    since, until = _bound(q.since, "since"), _bound(q.until, "until")
    top = until if until is not None else "+inf"
    cursor_score, cursor_id = decode_cursor(q.cursor) if q.cursor else (None, "")
    if cursor_score is not None:
        top = cursor_score if top == "+inf" else min(top, cursor_score)
    scratch = keys.index(q.kind, "search", uuid.uuid4().hex)  # the intersection, deleted by the script
    return [scratch, keys.index(q.kind), *index], [q.limit, SCAN_BUDGET, top, since if since is not None else "-inf",
                                                   cursor_score if cursor_score is not None else "", cursor_id,
                                                   INTERSECT_MAX, summary_key(keys, q.kind) if lines else ""]


def _results(reply, q: Query) -> tuple[list[tuple[str, int]], str | None, list]:
    """(id, created ms) pairs of the page, the next cursor, and the page's stored lines."""
    found, last = reply[0], reply[1]
    pairs = [(found[i].decode(), int(float(found[i + 1]))) for i in range(0, len(found), 2)]
    lines = reply[2] if len(reply) > 2 else [None] * min(len(pairs), q.limit)
    if len(pairs) > q.limit:
        pairs = pairs[:q.limit]
        return pairs, encode_cursor(pairs[-1][1], pairs[-1][0]), lines
    if last:
        return pairs, encode_cursor(int(float(last[1])), last[0].decode()), lines
    return pairs, None, lines


def search(r, keys: Keys, q: Query) -> tuple[list[tuple[str, int]], str | None]:
    """(id, created ms) of one page, newest first, and the cursor of the next page (None: no more)."""
    script_keys, args = _script_call(keys, q)
    pairs, nxt, _ = _results(r.register_script(SEARCH)(keys=script_keys, args=args), q)
    return pairs, nxt


def _missing(pairs, lines) -> list[str]:
    return [rid for (rid, _), line in zip(pairs, lines) if line is None]


def _fill(pairs, lines, records: dict, summarise) -> tuple[list[bytes], list[str]]:
    """The page's encoded items (stored lines; for the ids in ``records``, summarised from the
    record) and the ids whose record is gone."""
    items, gone = [], []
    for (rid, _), line in zip(pairs, lines):
        if line is None:
            raw = records.get(rid)
            if raw is None:
                gone.append(rid)
                continue
            line = encode(summarise(json.loads(raw)))
        items.append(line)
    return items, gone


def page_json(items: list[bytes], nxt: str | None) -> bytes:
    """``{"items": [...], "next": nxt}`` from encoded items, as JSONResponse would render it."""
    return b'{"items":[' + b",".join(items) + b'],"next":' + json.dumps(nxt).encode() + b"}"


def page_lines(r, keys: Keys, q: Query, summarise) -> tuple[list[bytes], str | None]:
    """The page's items, encoded, and the next cursor; ids whose record is gone are pruned."""
    script_keys, args = _script_call(keys, q, lines=True)
    pairs, nxt, stored = _results(r.register_script(SEARCH)(keys=script_keys, args=args), q)
    missing = _missing(pairs, stored)
    records = r.mget([record_key(keys, q.kind, rid) for rid in missing]) if missing else []
    items, gone = _fill(pairs, stored, dict(zip(missing, records)), summarise)
    if gone:
        prune(r, keys, q.kind, gone)
    return items, nxt


def page(r, keys: Keys, q: Query, summarise) -> dict:
    """``{"items": [summarise(record)...], "next": cursor}``; ids whose record is gone are pruned."""
    items, nxt = page_lines(r, keys, q, summarise)
    return {"items": [json.loads(item) for item in items], "next": nxt}


async def apage_json(c, q: Query, summarise) -> bytes:
    """The body of an API page: ``page_lines`` on the async Redis client (the listing routes run on the
    event loop, with no thread hand-off), joined as JSON. One Redis round trip, unless some hit
    has no stored line."""
    script_keys, args = _script_call(c.keys, q, lines=True)
    pairs, nxt, stored = _results(await c.aredis.register_script(SEARCH)(keys=script_keys, args=args), q)
    missing = _missing(pairs, stored)
    records = await c.aredis.mget([record_key(c.keys, q.kind, rid) for rid in missing]) if missing else []
    items, gone = _fill(pairs, stored, dict(zip(missing, records)), summarise)
    if gone:
        await asyncio.to_thread(prune, c.redis, c.keys, q.kind, gone)
    return page_json(items, nxt)
