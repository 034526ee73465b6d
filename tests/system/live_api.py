"""A real API process for tests that need real sockets: `fastscale serve --workers 0` (the same
uvicorn options as production) against a test Redis, logging to a file."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid

import httpx

from service.redis.embedded import free_port
from tests.service_helpers import ROOT, terminate


class LiveApi:
    def __init__(self, redis_url: str, env: dict | None = None, nofile: int | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.prefix = f"live{uuid.uuid4().hex[:8]}"
        self.log = tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False)
        env = {**os.environ, "REDIS_URL": redis_url, "FASTSCALE_KEY_PREFIX": self.prefix, "PYTHONPATH": str(ROOT),
               "FASTSCALE_LOG_JSON": "true", "FASTSCALE_PLAN_TIMEOUT_S": "60", **(env or {})}
        cmd = [sys.executable, "-m", "cli.main", "serve", "--port", str(self.port), "--workers", "0"]
        limit = (lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))) if nofile else None
        self.proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT,
                                     preexec_fn=limit)

    def wait_ready(self, timeout: float = 60) -> "LiveApi":
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the API exited: {self.output()[-2000:]}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.2)
        raise TimeoutError("the API did not come up")

    def output(self) -> str:
        with open(self.log.name) as fh:
            return fh.read()

    def log_bytes(self) -> int:
        return os.path.getsize(self.log.name)

    def stop(self) -> str:
        terminate(self.proc, 20)
        out = self.output()
        os.unlink(self.log.name)
        return out
