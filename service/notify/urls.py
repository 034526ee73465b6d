"""Callback URLs: what may be accepted at submission (the SSRF guard), and in which spelling.

Every URL accepted is one the HTTP client can send, exactly as stored: a URL is parsed by the
client's own parser (httpx.URL) at submission, and a form it would refuse later (a control
character, an octal or hex IPv4 like ``0177.0.0.2``, an IPv4 inside brackets, a port out of range)
is either rewritten to its canonical spelling (``0177.0.0.2`` -> ``127.0.0.2``) or refused with a
422 naming ``callback_url``, never accepted only to jam the outbox later (issue 23).

The host must be listed exactly in FASTSCALE_CALLBACK_ALLOWED_HOSTS, or be an address (an IP
literal, or *every* address a name resolves to) inside one of its CIDR ranges. The check is made
again before each attempt, since DNS may change.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from urllib.parse import urlsplit

import httpx

from service.errors import InvalidRequest

FIELD = "callback_url"
_NUMERIC_HOST = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]*))*\.?$")
_UNSAFE = re.compile(r"[\x00-\x20\x7f]")


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
    host = host.lower().rstrip(".").strip("[]")
    if host in names:
        return None
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        try:
            addresses = sorted({ipaddress.ip_address(info[4][0].split("%")[0]) for info in resolve(host, None)}, key=str)
        except (OSError, UnicodeError, ValueError):
            return f"host {host!r} does not resolve"
    outside = [str(a) for a in addresses if not any(a.version == n.version and a in n for n in networks)]
    if outside or not addresses:
        return f"host {host!r} ({', '.join(outside) or 'no address'}) is not allowed to receive callbacks"
    return None


def _canonical_host(host: str) -> str:
    """An IPv4 address in any spelling inet_aton accepts (octal, hex, short) as dotted decimal;
    other hosts as they are. A host that looks numeric but is no address is refused."""
    if _NUMERIC_HOST.match(host):
        try:
            return socket.inet_ntoa(socket.inet_aton(host.rstrip(".")))
        except OSError:
            raise InvalidRequest(f"host {host[:60]!r} is not an IPv4 address", FIELD,
                                 "a host name or a dotted-decimal address such as 10.0.0.5") from None
    return host


def normalise(url: str) -> httpx.URL:
    """``url`` as the client will send it, or InvalidRequest (422 on ``callback_url``)."""
    if _UNSAFE.search(url):
        raise InvalidRequest("must not contain spaces or control characters (CR, LF, NUL, tab)", FIELD,
                             "percent-encode them, e.g. %20")
    if len(url) > 2000:
        raise InvalidRequest(f"is {len(url)} characters long", FIELD, "a URL of at most 2000 characters")
    try:
        parts = urlsplit(url)
        port = parts.port
        parsed = httpx.URL(url)
    except (ValueError, httpx.InvalidURL) as exc:
        raise InvalidRequest(f"is not a URL the callback client can send ({str(exc)[:120]})", FIELD,
                             "an absolute URL such as https://hooks.example/fastscale") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise InvalidRequest("must be an absolute http or https URL", FIELD, "https://host/path")
    if parsed.userinfo:
        raise InvalidRequest("must not carry credentials", FIELD, "verify X-Fastscale-Signature instead")
    if port is not None and not 1 <= port <= 65535:
        raise InvalidRequest(f"port {port} is out of range", FIELD, "a port from 1 to 65535")
    host = _canonical_host(parsed.host)
    try:
        final = parsed.copy_with(host=host) if host != parsed.host else parsed
        httpx.Request("POST", final)  # what the client would build: it must not refuse it later
    except (ValueError, httpx.InvalidURL) as exc:
        raise InvalidRequest(f"is not a URL the callback client can send ({str(exc)[:120]})", FIELD,
                             "an absolute URL such as https://hooks.example/fastscale") from None
    return final


def validate_url(url: str, settings) -> str:
    """``url``, normalised, if callbacks may be sent there; else InvalidRequest on ``callback_url`` (422)."""
    if not settings.callback_allowed_hosts or not settings.callback_secret:
        raise InvalidRequest("callbacks are off on this server", FIELD,
                             "omit callback_url; operators enable callbacks with FASTSCALE_CALLBACK_ALLOWED_HOSTS "
                             "and FASTSCALE_CALLBACK_SECRET")
    parsed = normalise(url)
    reason = host_refusal(parsed.host, settings.callback_allowed_hosts)
    if reason:
        raise InvalidRequest(reason, FIELD,
                             f"a host allowed by FASTSCALE_CALLBACK_ALLOWED_HOSTS ({', '.join(settings.callback_allowed_hosts)})")
    return str(parsed)


def redacted(url: str) -> str:
    """``url`` without its query and fragment (they may hold a receiver's token): for logs."""
    try:
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}{parts.path}" + ("?…" if parts.query else "")
    except ValueError:
        return "<unparsable URL>"
