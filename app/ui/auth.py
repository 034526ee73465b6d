"""Who may see /ui: the API's own keys (FASTSCALE_API_KEY_HASHES), from X-API-Key or a sign-in.

The API guard (app.middleware) identifies every /ui request, so wrong keys and unknown session
tokens count against the same per-address failure budget as every other place a key is checked
(issue 23); it leaves the answer to this module, so that a browser without a key is sent to the
login form instead of receiving a 401 document.

A sign-in is a server-side session: the cookie (``fastscale_session``) holds a random token, never
the key; Redis holds the token's digest -> the key's hash for FASTSCALE_UI_SESSION_S, and sign-out
deletes it. The cookie is HttpOnly (no script reads it), SameSite=Strict (no other site's page sends
it) and Path=/ui, and it is accepted for GET and HEAD only, plus the sign-out: the pages read,
they never submit work. Sign-in and sign-out are POSTs whose Origin (or Referer) must be this
server, so another site can neither sign a browser in to its key nor sign it out.
"""

from __future__ import annotations

import secrets
from urllib.parse import parse_qs, urlsplit

from fastapi import Request
from fastapi.responses import RedirectResponse

from service.access.sessions import COOKIE, token_digest

LEGACY_COOKIE = "fastscale_key"  # earlier versions kept the key itself here: cleared on sign-out


class LoginRequired(Exception):
    """Raised by ``require`` when the request carries no valid key."""


def require(request: Request) -> None:
    """Dependency of every page but the login form: the guard found a valid key or session."""
    if not request.state.authenticated:
        raise LoginRequired()


async def to_login(_request: Request, _exc: Exception) -> RedirectResponse:
    return RedirectResponse("/ui/login", status_code=303)


def same_origin(request: Request) -> bool:
    """Whether a form POST came from a page of this server (Origin, else Referer, must match)."""
    source = request.headers.get("origin") or request.headers.get("referer")
    if not source or source == "null":
        return False
    parts = urlsplit(source)
    return (parts.scheme, parts.netloc) == (request.url.scheme, request.url.netloc)


async def submitted_key(request: Request) -> str:
    """The api_key field of the login form (application/x-www-form-urlencoded)."""
    form = parse_qs((await request.body()).decode("utf-8", errors="replace"))
    return (form.get("api_key") or [""])[0].strip()


async def signed_in(request: Request, key_hash: str) -> RedirectResponse:
    services = request.app.state.services
    token = secrets.token_urlsafe(32)
    await services.aredis.set(services.keys.session(token_digest(token)), key_hash, ex=services.settings.ui_session_s)
    response = RedirectResponse("/ui", status_code=303)
    response.set_cookie(COOKIE, token, httponly=True, samesite="strict", path="/ui",
                        secure=request.url.scheme == "https", max_age=services.settings.ui_session_s)
    return response


async def signed_out(request: Request) -> RedirectResponse:
    token = request.cookies.get(COOKIE)
    if token:
        services = request.app.state.services
        await services.aredis.delete(services.keys.session(token_digest(token[:200])))
    response = RedirectResponse("/ui/login", status_code=303)
    response.delete_cookie(COOKIE, path="/ui")
    response.delete_cookie(LEGACY_COOKIE, path="/ui")
    return response
