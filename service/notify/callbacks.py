"""Completion callbacks: who asked, what is sent, and what is kept of each attempt.

A request's ``callback_url`` is checked and normalised at submission (service.notify.urls: the
SSRF guard, and only URLs the client can send) and refused with 422 otherwise. It then subscribes
to the record's current run (``subscribe``), under the hash of the API key that asked: still
running, the subscription joins the run's subscriber set, and the final state's outbox event
(service.notify.outbox) becomes one delivery per subscriber; already final (a cached profile, a
finished sweep), a delivery is queued at once. Each subscriber gets its own delivery, with its own
id, so several clients sharing one profile are each told, and a key can withdraw its own
subscriptions without touching another key's (service.access.tenants).

A delivery POSTs the final document as JSON with ``X-Fastscale-Event`` (``profile.finished``, ...),
``X-Fastscale-Delivery`` (the same on every retry: receivers dedupe on it), ``X-Fastscale-Timestamp``
(Unix seconds of this attempt) and ``X-Fastscale-Signature: sha256=<HMAC-SHA256 of
"<timestamp>.<delivery>.<body>" under FASTSCALE_CALLBACK_SECRET>``, so a receiver can refuse a
replayed or re-addressed body. The attempts themselves run concurrently (service.notify.delivery);
any answer but 2xx is retried with exponential back-off and jitter, up to
FASTSCALE_CALLBACK_MAX_ATTEMPTS attempts or FASTSCALE_CALLBACK_MAX_AGE_S, and every attempt (and a
giving up) is appended to the document's ``callbacks``, with the subscriber's key hash (``owner``)
so that each key is shown only its own.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import random
import time

from service.listing.indexes import record_key
from service.notify.outbox import add_delivery, event_name, now_ms
from service.notify.urls import host_refusal, redacted, validate_url  # noqa: F401 - the module's public names
from service.profiles.store import now_iso

log = logging.getLogger("fastscale.callbacks")
FINAL = ("finished", "failed", "cancelled")
MAX_RECORDED = 50
USER_AGENT = "fastscale-callbacks/1"


def sign(secret: str, body: bytes, timestamp: int | str, delivery: str) -> str:
    """``sha256=`` HMAC-SHA256 of ``<timestamp>.<delivery>.<body>`` under ``secret``."""
    message = f"{timestamp}.{delivery}.".encode() + body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signed_headers(secret: str, item: dict, body: bytes, now: float | None = None) -> dict:
    timestamp = int(time.time() if now is None else now)
    return {"Content-Type": "application/json", "X-Fastscale-Event": item["event"],
            "X-Fastscale-Delivery": item["id"], "X-Fastscale-Timestamp": str(timestamp),
            "X-Fastscale-Signature": sign(secret, body, timestamp, item["id"])}


def subscription(url: str, owner: str = "") -> str:
    """A member of a run's subscriber set: the URL and the key hash that asked for it."""
    return json.dumps({"url": url, "owner": owner}, sort_keys=True)


def parse_subscription(member: bytes | str) -> tuple[str, str]:
    """(url, owner) of a subscriber set member (a bare URL: one stored before owners existed)."""
    text = member.decode() if isinstance(member, bytes) else member
    if text.startswith("{"):
        data = json.loads(text)
        return data["url"], data.get("owner", "")
    return text, ""


def public_document(doc: dict) -> dict:
    """The document a receiver gets: the record without the log of earlier deliveries."""
    return {k: v for k, v in doc.items() if k != "callbacks"}


def subscribe(c, kind: str, rid: str, url: str, final_document=None, owner: str = "") -> None:
    """Tell ``url`` when ``rid``'s current run is final: join its subscribers, or deliver now if it is.

    ``final_document(doc)`` builds the document of a record that is already final (a sweep's is
    derived from its rows); by default the stored record is the document.
    """
    key = record_key(c.keys, kind, rid)

    def tx(pipe) -> None:
        raw = pipe.get(key)
        doc = json.loads(raw) if raw else None
        pipe.multi()
        if doc is None:
            return
        run, status = doc.get("run", 1), doc.get("status")
        if status in FINAL:
            document = final_document(doc) if final_document else doc
            event = {"id": f"{kind}:{rid}:{run}:{status}", "kind": kind, "record": rid, "run": run,
                     "event": event_name(kind, status), "document": public_document(document)}
            add_delivery(pipe, c.keys, event, url, owner=owner)
        else:
            subs = c.keys.subscribers(kind, rid, run)
            pipe.sadd(subs, subscription(url, owner))
            pipe.expire(subs, c.settings.result_ttl_s)

    c.redis.transaction(tx, key)


def expand(c, event: dict) -> None:
    """An event's deliveries: one per subscriber of its run (the outbox's expansion step)."""
    subs = c.keys.subscribers(event["kind"], event["record"], event["run"])
    members = sorted(parse_subscription(m) for m in c.redis.smembers(subs))
    if members:
        event = {**event, "document": public_document(event["document"])}
        pipe = c.redis.pipeline()
        for url, owner in members:
            add_delivery(pipe, c.keys, event, url, owner=owner)
        pipe.delete(subs)
        pipe.execute()


def backoff_s(s, attempts: int) -> float:
    return min(s.callback_backoff_max_s, s.callback_backoff_s * 2 ** (attempts - 1)) * random.uniform(0.8, 1.2)


def expired(c, item: dict) -> bool:
    """Past its attempts, or older than FASTSCALE_CALLBACK_MAX_AGE_S: to be given up, not tried."""
    age_s = (now_ms() - item.get("created_ms", now_ms())) / 1000
    return item.get("attempts", 0) >= c.settings.callback_max_attempts or age_s > c.settings.callback_max_age_s


def _entry(item: dict, status, error, **extra) -> dict:
    return {"at": now_iso(), "status": status, "error": error, "attempt": item.get("attempts", 0),
            "delivery": item["id"], "event": item.get("event"), "url": item.get("url"),
            "owner": item.get("owner", ""), **extra}


def _drop(c, item: dict) -> None:
    pipe = c.redis.pipeline()
    pipe.delete(c.keys.outbox_delivery(item["id"]))
    pipe.zrem(c.keys.outbox_deliveries, item["id"])
    pipe.execute()


def give_up(c, item: dict, reason: str, entry: dict | None = None) -> None:
    """Stop trying ``item``: recorded on the document (``given_up``), logged, and dropped."""
    if item.get("record") and item.get("kind"):
        record_attempt(c, item, entry or _entry(item, None, reason, given_up=True))
    log.error("callback to %s given up after %d attempt(s): %s", redacted(str(item.get("url", ""))),
              item.get("attempts", 0), reason, extra={"profile_id": item.get("record")})
    _drop(c, item)


def settle(c, item: dict, status: int | None, error: str | None, retry: bool) -> None:
    """After one attempt of a claimed delivery: recorded on the document; done, rescheduled or given up."""
    item["attempts"] = item.get("attempts", 0) + 1
    if error is not None and (not retry or expired(c, item)):
        return give_up(c, item, error, _entry(item, status, error, given_up=True))
    record_attempt(c, item, _entry(item, status, error))
    if error is None:
        return _drop(c, item)
    log.warning("callback attempt %d to %s failed: %s", item["attempts"], redacted(item["url"]), error,
                extra={"profile_id": item["record"]})
    pipe = c.redis.pipeline()
    pipe.set(c.keys.outbox_delivery(item["id"]), json.dumps(item))
    pipe.zadd(c.keys.outbox_deliveries, {item["id"]: now_ms() + int(backoff_s(c.settings, item["attempts"]) * 1000)})
    pipe.execute()


def record_attempt(c, item: dict, entry: dict) -> None:
    """Append ``entry`` to the record's ``callbacks`` (its TTL kept; readers' caches told)."""
    key = record_key(c.keys, item["kind"], item["record"])

    def tx(pipe) -> None:
        raw = pipe.get(key)
        doc = json.loads(raw) if raw else None
        pipe.multi()
        if doc is None or doc.get("run", 1) != item["run"]:
            return
        doc["callbacks"] = (doc.get("callbacks") or [])[-(MAX_RECORDED - 1):] + [entry]
        pipe.set(key, json.dumps(doc), keepttl=True)
        if item["kind"] == "profile":
            pipe.publish(c.keys.changed, item["record"])

    c.redis.transaction(tx, key)
