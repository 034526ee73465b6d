"""Where the CLI and the client look for the API: --url, FASTSCALE_URL, else FASTSCALE_HOST/PORT
(what `fastscale serve` binds), never a hard-coded port."""

from __future__ import annotations

import os
import subprocess
import sys

from fastscale_client import default_url
from service.redis.embedded import free_port
from tests.service_helpers import ROOT


def test_default_url_follows_the_serve_settings():
    assert default_url({}) == "http://127.0.0.1:8000"
    assert default_url({"FASTSCALE_HOST": "0.0.0.0", "FASTSCALE_PORT": "9123"}) == "http://127.0.0.1:9123"
    assert default_url({"FASTSCALE_HOST": "api.internal", "FASTSCALE_PORT": "80"}) == "http://api.internal:80"
    assert default_url({"FASTSCALE_HOST": "::1", "FASTSCALE_PORT": "81"}) == "http://[::1]:81"
    assert default_url({"FASTSCALE_URL": "https://fs.example/", "FASTSCALE_PORT": "1"}) == "https://fs.example"


def test_the_cli_reaches_for_the_configured_address():
    port = free_port()  # nothing listens there: the error names the address it tried
    base = {k: v for k, v in os.environ.items() if not k.startswith("FASTSCALE_")}
    for env, expected in (({"FASTSCALE_PORT": str(port)}, f"http://127.0.0.1:{port}"),
                          ({"FASTSCALE_URL": f"http://127.0.0.1:{port}"}, f"http://127.0.0.1:{port}")):
        out = subprocess.run([sys.executable, "-m", "cli", "profiles"], capture_output=True, text=True, cwd=ROOT,
                             env={**base, "PYTHONPATH": str(ROOT), **env}, timeout=60)
        assert out.returncode == 2 and f"cannot reach the API at {expected}" in out.stderr, out.stderr
    out = subprocess.run([sys.executable, "-m", "cli", "cancel", "0" * 32, "--url", f"http://127.0.0.1:{port}"],
                         capture_output=True, text=True, cwd=ROOT, env={**base, "PYTHONPATH": str(ROOT)}, timeout=60)
    assert out.returncode == 2 and f"127.0.0.1:{port}" in out.stderr
