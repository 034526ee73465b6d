"""The service under test, as real processes: a separate redis-server with the API (uvicorn) and
`fastscale worker` beside it, or `fastscale serve` with its embedded Redis and local workers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import redis

from service.redis.embedded import EmbeddedRedis, free_port

ROOT = Path(__file__).resolve().parents[2]
FAST = {"FASTSCALE_WORKER_TTL_S": "10", "FASTSCALE_REAP_INTERVAL_S": "1", "FASTSCALE_RECONCILE_INTERVAL_S": "2",
        "FASTSCALE_LOG_JSON": "false", "FASTSCALE_RATE_LIMIT_PER_MINUTE": "0", "OMP_NUM_THREADS": "1",
        "FASTSCALE_WORKER_DEVICE": "cpu", "CUDA_VISIBLE_DEVICES": "", "PYTHONPATH": str(ROOT)}


def children(pid: int, pattern: str = "") -> list[int]:
    cmd = ["pgrep", "-P", str(pid)] + (["-f", pattern] if pattern else [])
    return [int(p) for p in subprocess.run(cmd, capture_output=True, text=True).stdout.split()]


def kill(pid: int, sig=signal.SIGKILL) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


class Service:
    """What every setup offers the scenarios: its URL, its Redis, and its processes by role."""

    url: str
    prefix: str

    def redis(self) -> redis.Redis:
        raise NotImplementedError

    def ready(self, workers: bool = True) -> bool:
        try:
            r = httpx.get(self.url + "/readyz", timeout=2)
            return r.status_code == 200 and (not workers or bool(r.json().get("workers")))
        except (httpx.HTTPError, ValueError):
            return False

    def wait_ready(self, timeout: float = 120) -> float:
        start = time.monotonic()
        while not self.ready():
            if time.monotonic() - start > timeout:
                raise TimeoutError(f"{type(self).__name__} not ready in {timeout:.0f} s")
            time.sleep(0.2)
        return time.monotonic() - start


class Separate(Service):
    """redis-server (AOF everysec) + API + `fastscale worker --cpu-workers N`, each its own process."""

    def __init__(self, tmp: Path, workers: int = 2, env: dict | None = None):
        self.tmp, self.n, self.extra = tmp, workers, env or {}
        self.prefix = f"chaos{uuid.uuid4().hex[:6]}"
        self.server = EmbeddedRedis(tmp / "redis", port=free_port())
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.api = self.sup = None

    def env(self) -> dict:
        return {**os.environ, **FAST, **self.extra, "REDIS_URL": self.server.url, "FASTSCALE_KEY_PREFIX": self.prefix}

    def start(self) -> "Separate":
        self.server.start()
        self.start_api()
        self.sup = subprocess.Popen([sys.executable, "-m", "cli", "worker", "--device", "cpu", "--cpu-workers",
                                     str(self.n), "--grace", "5"], env=self.env(), cwd=ROOT,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return self

    def start_api(self) -> None:
        self.api = subprocess.Popen([sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory", "--host",
                                     "127.0.0.1", "--port", str(self.port), "--log-level", "warning"],
                                    env=self.env(), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def redis(self) -> redis.Redis:
        return self.server.client()

    def workers(self) -> list[int]:
        return children(self.sup.pid, "workers.run")

    def stop(self) -> None:
        for proc in (self.sup, self.api):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    proc.kill()
        self.server.stop()


class Embedded(Service):
    """`fastscale serve --workers N`: the API, an embedded redis-server and N local workers in one command."""

    def __init__(self, tmp: Path, workers: int = 2, env: dict | None = None):
        self.tmp, self.n, self.prefix, self.extra = tmp, workers, "fastscale", env or {}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = None

    def start(self) -> "Embedded":
        env = {k: v for k, v in {**os.environ, **FAST, **self.extra}.items() if k != "REDIS_URL"}
        self.proc = subprocess.Popen([sys.executable, "-m", "cli", "serve", "--port", str(self.port), "--data-dir",
                                      str(self.tmp / "data"), "--workers", str(self.n)], env=env, cwd=ROOT,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        return self

    def redis(self) -> redis.Redis:
        return redis.Redis.from_url(f"unix://{(self.tmp / 'data' / 'redis.sock').resolve()}?db=0")

    def redis_pid(self) -> int:
        return children(self.proc.pid, "redis-server")[0]

    def workers(self) -> list[int]:
        return children(self.proc.pid, "workers.run")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(40)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
