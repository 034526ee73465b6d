"""Server-side sessions of /ui sign-ins: the cookie holds a random token, Redis holds the token's
digest -> the signed-in key's hash (app.ui.auth creates and deletes them; the API guard reads them,
so an unknown token counts as a wrong key)."""

from __future__ import annotations

import hashlib
from http.cookies import CookieError, SimpleCookie

COOKIE = "fastscale_session"
COOKIE_METHODS = ("GET", "HEAD")


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def session_token(scope, headers: dict) -> str | None:
    """The session cookie of a request that may use it (GET, HEAD, and the sign-out POST)."""
    if scope["method"] not in COOKIE_METHODS and scope["path"] != "/ui/logout":
        return None
    raw = headers.get(b"cookie")
    if not raw:
        return None
    try:
        morsel = SimpleCookie(raw.decode("latin-1")).get(COOKIE)
    except CookieError:
        return None
    return morsel.value[:200] if morsel and morsel.value else None


async def session_digest(services, token: str) -> str | None:
    """The key hash a session token stands for, or None (unknown, expired, signed out)."""
    raw = await services.aredis.get(services.keys.session(token_digest(token)))
    return raw.decode() if raw else None
