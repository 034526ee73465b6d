"""The results page (GET /ui): server-rendered HTML from jinja2 templates, no JavaScript.

Recent profiles and sweeps with filters, one profile's figures, one sweep's table and plot, and a
plan calculator, all read from the same service layer as the JSON API. Templates autoescape
everything, so nothing a user typed (filters, model names, custom specs) becomes markup. Browsers
sign in once with the login form (an HttpOnly, SameSite=Strict cookie, used for GETs only) or send
X-API-Key like any client (app.ui.auth).
"""

from __future__ import annotations

from fastapi import FastAPI

from app.ui.auth import LoginRequired, to_login
from app.ui.routes import router


def install(app: FastAPI) -> None:
    app.include_router(router)
    app.add_exception_handler(LoginRequired, to_login)
