"""Where the API is: ``FASTSCALE_URL``, else ``http://FASTSCALE_HOST:FASTSCALE_PORT`` (the same
variables ``fastscale serve`` binds with), else http://127.0.0.1:8000. A wildcard bind address
(0.0.0.0, ::) is reached on loopback."""

from __future__ import annotations

import os

WILDCARDS = ("", "0.0.0.0", "::", "[::]")


def default_url(env=None) -> str:
    env = os.environ if env is None else env
    if env.get("FASTSCALE_URL"):
        return env["FASTSCALE_URL"].rstrip("/")
    host = env.get("FASTSCALE_HOST", "127.0.0.1")
    host = "127.0.0.1" if host in WILDCARDS else (f"[{host}]" if ":" in host and not host.startswith("[") else host)
    return f"http://{host}:{env.get('FASTSCALE_PORT', '8000')}"


def default_api_key(env=None) -> str | None:
    env = os.environ if env is None else env
    return env.get("FASTSCALE_API_KEY") or None
