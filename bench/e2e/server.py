"""``fastscale serve`` as a subprocess for bench/gpu_e2e.py, and a small HTTP client for it.

Standard library only (subprocess, urllib), so the benchmark needs nothing beyond the service's
and a GPU worker's packages. Waiting for readiness fails fast: the moment the server process has
exited, the wait stops and the error carries the tail of its log.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[2]


class ServerDied(RuntimeError):
    """The server exited or never became ready; the message ends with its log tail."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Api:
    """JSON over HTTP to the service: (status, body) for every call, errors included."""

    def __init__(self, url: str, timeout: float = 30.0):
        self.url, self.timeout = url.rstrip("/"), timeout

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"} if data else {})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as err:
            text = err.read()
            try:
                return err.code, json.loads(text)
            except ValueError:
                return err.code, {"detail": text.decode(errors="replace")[:500]}

    def get(self, path: str) -> tuple[int, dict]:
        return self.call("GET", path)

    def post(self, path: str, body: dict) -> tuple[int, dict]:
        return self.call("POST", path, body)

    def accepted(self, path: str, body: dict) -> dict:
        """POST that must be accepted (200/202); anything else stops the benchmark with the problem."""
        status, out = self.post(path, body)
        if status not in (200, 202):
            raise RuntimeError(f"POST {path} answered {status}: {out.get('detail', out)}")
        return out

    def wait(self, path: str, done: Callable[[dict], bool], timeout: float, every: float = 0.5) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            status, out = self.get(path)
            if status == 200 and done(out):
                return out
            if time.monotonic() > deadline:
                raise TimeoutError(f"GET {path} not done within {timeout:.0f} s (last: {status})")
            time.sleep(every)


class Server:
    """``python -m cli serve`` with an embedded Redis and one local worker on ``device``."""

    def __init__(self, device: str, data_dir: Path, env: dict[str, str] | None = None):
        self.device, self.data_dir, self.port = device, Path(data_dir), free_port()
        self.log_path = self.data_dir / "serve.log"
        self.extra_env = env or {}
        self.proc: subprocess.Popen | None = None
        self.api = Api(f"http://127.0.0.1:{self.port}")

    def start(self) -> "Server":
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}  # embedded Redis, always
        # Keep an inherited PYTHONPATH (a GPU host with the service's wheels in a side folder) after ours.
        path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
        env.update({"PYTHONPATH": path, "FASTSCALE_LOG_JSON": "false", "FASTSCALE_RATE_LIMIT_PER_MINUTE": "0",
                    **self.extra_env})
        cmd = [sys.executable, "-m", "cli", "serve", "--host", "127.0.0.1", "--port", str(self.port),
               "--data-dir", str(self.data_dir), "--workers", "1", "--device", self.device]
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        return self

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def wait_ready(self, timeout: float) -> str:
        """Poll /readyz until a worker of this device's kind is live; its device class. Stops at
        once, with the log tail, if the server process exits."""
        deadline = time.monotonic() + timeout
        kind = "cuda" if self.device == "cuda" else "cpu"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerDied(f"fastscale serve exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                status, ready = self.api.get("/readyz")
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                status, ready = 0, {}
            classes = [c for c in (ready or {}).get("workers", {}) if c.startswith(kind)]
            if status == 200 and classes:
                return classes[0]
            time.sleep(0.3)
        raise ServerDied(f"no {kind} worker ready within {timeout:.0f} s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
