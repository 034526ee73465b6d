"""Who may see /ui: the API's own keys (FASTSCALE_API_KEY_HASHES), from X-API-Key or the login
cookie. The API guard leaves /ui to this module so that a browser without a key is sent to the
login form instead of receiving a 401 document.

The cookie holds the key, HttpOnly (no script reads it), SameSite=Strict (no other site's page
sends it) and Path=/ui, and it is accepted for GET and HEAD only: the pages read, they never
submit work, so a forged cross-site request could do nothing with it.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from fastapi import Request
from fastapi.responses import RedirectResponse

from service.access.auth import key_allowed
from service.access.ratelimit import RateLimiter

COOKIE = "fastscale_key"


class LoginRequired(Exception):
    """Raised by ``require`` when the request carries no valid key."""


def key_of(request: Request) -> str | None:
    key = request.headers.get("x-api-key")
    if not key and request.method in ("GET", "HEAD"):
        key = request.cookies.get(COOKIE)
    return key or None


def require(request: Request) -> None:
    """Dependency of every page but the login form."""
    hashes = request.app.state.services.settings.api_key_hashes
    if hashes and not (key_of(request) and key_allowed(key_of(request), hashes)):
        raise LoginRequired()


async def to_login(_request: Request, _exc: Exception) -> RedirectResponse:
    return RedirectResponse("/ui/login", status_code=303)


async def submitted_key(request: Request) -> str:
    """The api_key field of the login form (application/x-www-form-urlencoded)."""
    form = parse_qs((await request.body()).decode("utf-8", errors="replace"))
    return (form.get("api_key") or [""])[0].strip()


def signed_in(request: Request, key: str) -> RedirectResponse:
    response = RedirectResponse("/ui", status_code=303)
    response.set_cookie(COOKIE, key, httponly=True, samesite="strict", path="/ui",
                        secure=request.url.scheme == "https", max_age=7 * 24 * 3600)
    return response


def signed_out() -> RedirectResponse:
    response = RedirectResponse("/ui/login", status_code=303)
    response.delete_cookie(COOKIE, path="/ui")
    return response


def _limiter(services) -> tuple[RateLimiter, int]:
    return RateLimiter(services.aredis, services.keys), services.settings.auth_failures_per_minute


def _address(request: Request) -> str:
    return (request.scope.get("client") or ("?",))[0]


async def too_many_failures(request: Request, services) -> bool:
    """The login form is a way to guess keys too: it shares the guard's per-address budget of
    wrong keys (FASTSCALE_AUTH_FAILURES_PER_MINUTE), checked before the key is."""
    limiter, most = _limiter(services)
    return most > 0 and await limiter.count("authfail", _address(request), by=0) >= most


async def count_failure(request: Request, services) -> None:
    limiter, most = _limiter(services)
    if most > 0:
        await limiter.count("authfail", _address(request))
