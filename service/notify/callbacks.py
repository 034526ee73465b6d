"""Completion callbacks: who asked, where it may go (the SSRF guard), and one signed delivery attempt.

A request's ``callback_url`` is checked at submission against FASTSCALE_CALLBACK_ALLOWED_HOSTS
(exact host names, or CIDR ranges that an IP literal or every address a name resolves to must lie
in; empty: callbacks are off) and refused with 422 otherwise. It then subscribes to the record's
current run (``subscribe``): still running, the URL joins the run's subscriber set, and the final
state's outbox event (service.notify.outbox) becomes one delivery per subscriber; already final (a cached
profile, a finished sweep), a delivery is queued at once. Each subscriber gets its own delivery,
with its own id, so several clients sharing one profile are each told.

A delivery POSTs the final document as JSON with ``X-Fastscale-Event`` (``profile.finished``, ...),
``X-Fastscale-Delivery`` (the same on every retry: receivers dedupe on it) and
``X-Fastscale-Signature: sha256=<HMAC-SHA256 of the raw body under FASTSCALE_CALLBACK_SECRET>``.
Redirects are not followed and the host is checked again before each attempt (DNS may have
changed). Any answer but 2xx is retried with exponential back-off and jitter, up to
FASTSCALE_CALLBACK_MAX_ATTEMPTS; every attempt is appended to the document's ``callbacks``.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import random
import socket
from urllib.parse import urlsplit

import httpx

from service.errors import InvalidRequest
from service.listing.indexes import record_key
from service.notify.outbox import add_delivery, event_name, now_ms
from service.profiles.store import now_iso

log = logging.getLogger("fastscale.callbacks")
FINAL = ("finished", "failed", "cancelled")
MAX_RECORDED = 50
USER_AGENT = "fastscale-callbacks/1"
_http: dict = {}


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _rules(allowed: list[str]) -> tuple[set[str], list]:
    names, networks = set(), []
    for entry in allowed:
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            names.add(entry.rstrip("."))
    return names, networks


def host_refusal(host: str, allowed: list[str], resolve=socket.getaddrinfo) -> str | None:
    """Why ``host`` may not receive callbacks, or None when it may."""
    names, networks = _rules(allowed)
    host = host.lower().rstrip(".")
    if host in names:
        return None
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        try:
            addresses = sorted({ipaddress.ip_address(info[4][0].split("%")[0]) for info in resolve(host, None)}, key=str)
        except (OSError, UnicodeError):
            return f"host {host!r} does not resolve"
    outside = [str(a) for a in addresses if not any(a.version == n.version and a in n for n in networks)]
    if outside or not addresses:
        return f"host {host!r} ({', '.join(outside) or 'no address'}) is not allowed to receive callbacks"
    return None


def validate_url(url: str, settings) -> str:
    """``url`` if callbacks may be sent there; else InvalidRequest on ``callback_url`` (422)."""
    if not settings.callback_allowed_hosts or not settings.callback_secret:
        raise InvalidRequest("callbacks are off on this server", "callback_url",
                             "omit callback_url; operators enable callbacks with FASTSCALE_CALLBACK_ALLOWED_HOSTS "
                             "and FASTSCALE_CALLBACK_SECRET")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidRequest("must be an absolute http or https URL", "callback_url", "https://host/path")
    if parts.username or parts.password:
        raise InvalidRequest("must not carry credentials", "callback_url", "verify X-Fastscale-Signature instead")
    reason = host_refusal(parts.hostname, settings.callback_allowed_hosts)
    if reason:
        raise InvalidRequest(reason, "callback_url",
                             f"a host allowed by FASTSCALE_CALLBACK_ALLOWED_HOSTS ({', '.join(settings.callback_allowed_hosts)})")
    return url


def public_document(doc: dict) -> dict:
    """The document a receiver gets: the record without the log of earlier deliveries."""
    return {k: v for k, v in doc.items() if k != "callbacks"}


def subscribe(c, kind: str, rid: str, url: str, final_document=None) -> None:
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
            add_delivery(pipe, c.keys, event, url)
        else:
            subs = c.keys.subscribers(kind, rid, run)
            pipe.sadd(subs, url)
            pipe.expire(subs, c.settings.result_ttl_s)

    c.redis.transaction(tx, key)


def expand(c, event: dict) -> None:
    """An event's deliveries: one per subscriber of its run (the outbox's expansion step)."""
    subs = c.keys.subscribers(event["kind"], event["record"], event["run"])
    urls = sorted(u.decode() for u in c.redis.smembers(subs))
    if urls:
        event = {**event, "document": public_document(event["document"])}
        pipe = c.redis.pipeline()
        for url in urls:
            add_delivery(pipe, c.keys, event, url)
        pipe.delete(subs)
        pipe.execute()


def _client(timeout: float) -> httpx.Client:
    if timeout not in _http:
        _http[timeout] = httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False,
                                      headers={"User-Agent": USER_AGENT})
    return _http[timeout]


def attempt(c, item: dict) -> tuple[int | None, str | None, bool]:
    """POST the delivery once: (HTTP status or None, error or None, retry worth it?)."""
    s = c.settings
    refusal = host_refusal(urlsplit(item["url"]).hostname or "", s.callback_allowed_hosts) \
        if s.callback_allowed_hosts else "callbacks are off (FASTSCALE_CALLBACK_ALLOWED_HOSTS is empty)"
    if refusal:
        return None, refusal, False
    body = item["body"].encode()
    headers = {"Content-Type": "application/json", "X-Fastscale-Event": item["event"],
               "X-Fastscale-Delivery": item["id"], "X-Fastscale-Signature": sign(s.callback_secret, body)}
    try:
        response = _client(s.callback_timeout_s).post(item["url"], content=body, headers=headers)
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}: {exc}"[:300], True
    if 200 <= response.status_code < 300:
        return response.status_code, None, False
    note = " (redirects are not followed)" if 300 <= response.status_code < 400 else ""
    return response.status_code, f"HTTP {response.status_code}{note}", True


def backoff_s(s, attempts: int) -> float:
    return min(s.callback_backoff_max_s, s.callback_backoff_s * 2 ** (attempts - 1)) * random.uniform(0.8, 1.2)


def deliver(c, item: dict) -> None:
    """One attempt of a claimed delivery; recorded on the document; rescheduled, done or given up."""
    status, error, retry = attempt(c, item)
    item["attempts"] += 1
    record_attempt(c, item, {"at": now_iso(), "status": status, "error": error, "attempt": item["attempts"],
                             "delivery": item["id"], "event": item["event"], "url": item["url"]})
    pipe = c.redis.pipeline()
    if error is None or not retry or item["attempts"] >= c.settings.callback_max_attempts:
        if error is not None:
            log.error("callback given up after %d attempt(s): %s", item["attempts"], error,
                      extra={"profile_id": item["record"]})
        pipe.delete(c.keys.outbox_delivery(item["id"]))
        pipe.zrem(c.keys.outbox_deliveries, item["id"])
    else:
        log.warning("callback attempt %d failed: %s", item["attempts"], error, extra={"profile_id": item["record"]})
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
