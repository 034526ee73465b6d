"""Real parts for service tests: Redis servers, worker processes, an API client, and waiting for
them (service.polling's loop, as the service itself waits)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import redis
from rq import Worker
from rq.serializers import JSONSerializer

from service.polling import wait_until
from tests.load import scaled
from service.redis.queues import get_queue
from service.settings import Settings

ROOT = Path(__file__).resolve().parents[1]

TINY_SPEC = {"family": "anynet", "stem_type": "simple_stem_in", "stem_w": 8, "block_type": "res_bottleneck_block",
             "depths": [1, 1], "widths": [16, 32], "strides": [2, 2], "bot_muls": [1.0, 1.0], "group_ws": [8, 8],
             "se_r": 0.25, "num_classes": 10}
TINY_PROFILE = {"device": "cpu", "batch_size": 2, "time_budget_s": 0.5}


def plan_request(**kw) -> dict:
    """Every ``make_plan`` argument a planning request carries (as PlanRequest.plan_kwargs gives
    them), defaults where ``kw`` says nothing."""
    base = {"model": None, "spec": None, "strategy": "dWr", "alpha": None, "exponents": None, "factor": 2.0,
            "target_flops": None, "rounding": "nearest", "resolution": None}
    return {**base, **kw}


def terminate(proc: subprocess.Popen, grace_s: float = 20) -> None:
    """SIGTERM a test's child process and wait; SIGKILL it if it outlives ``grace_s``."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(scaled(grace_s))
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def settings_for(url: str, prefix: str | None = None, **extra) -> Settings:
    """Settings for one test's app. The planning timeout is generous: a planning process's first
    plan imports the core, which on a loaded 2-core CI machine took past the 10 s default and
    turned an ordinary POST /scale into a 503 (tests of the timeout set their own)."""
    extra = {"plan_timeout_s": 60.0, **extra}
    return Settings(redis_url=url, key_prefix=prefix or f"fst{uuid.uuid4().hex[:8]}", data_dir=Path("/tmp"), **extra)


def worker_env(settings: Settings, extra: dict | None = None) -> dict:
    return {**os.environ, "REDIS_URL": settings.redis_url, "FASTSCALE_KEY_PREFIX": settings.key_prefix,
            "FASTSCALE_WORKER_TTL_S": "10", "CUDA_VISIBLE_DEVICES": "", "PYTHONPATH": str(ROOT),
            "OMP_NUM_THREADS": "1", **(extra or {})}


class Supervised:
    """Real worker processes under the real supervisor (workers.supervisor), as `fastscale worker` runs them."""

    def __init__(self, settings: Settings, device_class: str = "cpu-test", env: dict | None = None):
        import threading

        from workers.supervisor import Supervisor, WorkerSpec

        spec = WorkerSpec(device_class, "cpu", {"CUDA_VISIBLE_DEVICES": ""}, f"{device_class}.test")
        self.settings = settings
        self.sup = Supervisor([spec], settings.redis_url, grace_s=20, env=worker_env(settings, env)).start()
        threading.Thread(target=self.sup.run, daemon=True, name="test-supervisor").start()

    @property
    def proc(self) -> subprocess.Popen:
        return self.sup.procs[0]

    def registered(self) -> bool:
        """Whether the current worker process is registered (the supervisor names it spec.<ms>, and
        only one lives at a time)."""
        client = redis.Redis.from_url(self.settings.redis_url)
        prefix = self.sup.specs[0].name + "."
        alive = self.proc.poll() is None
        return alive and any(w.name.startswith(prefix) and w.pid == self.proc.pid
                             for w in Worker.all(connection=client, serializer=JSONSerializer))

    def wait_registered(self, timeout: float = 90) -> "Supervised":
        wait_until(self.registered, bool, scaled(timeout), what="supervised worker registration")
        return self

    def stop(self) -> None:
        self.sup.stopping.set()
        self.sup.stop()


class WorkerProcess:
    """A real worker process (python -m workers.run) on one device class."""

    def __init__(self, settings: Settings, device_class: str = "cpu-test", burst: bool = False, env: dict | None = None):
        env = worker_env(settings, env)
        cmd = [sys.executable, "-m", "workers.run", "--device-class", device_class, "--kind", "cpu"]
        if burst:
            cmd.append("--burst")
        self.proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.settings, self.device_class = settings, device_class

    def rq_names(self) -> list[str]:
        """The names of this process's entries in RQ's worker registry (after it exits: what it left)."""
        client = redis.Redis.from_url(self.settings.redis_url)
        return [w.name for w in Worker.all(connection=client, serializer=JSONSerializer)
                if w.name.endswith(str(self.proc.pid))]

    def registered(self) -> bool:
        if self.proc.poll() is not None:
            raise RuntimeError(f"worker exited: {self.proc.stdout.read()}")
        return bool(self.rq_names())

    def wait_registered(self, timeout: float = 30) -> "WorkerProcess":
        wait_until(self.registered, bool, scaled(timeout), what="worker registration")
        return self

    def stop(self, finish_s: float = 3.0) -> str:
        """Stop the worker for a test's teardown; its log. A first SIGTERM lets the job in hand
        finish (RQ's warm shutdown), which a test that is done does not wait for: past
        ``finish_s`` a second SIGTERM ends the job (RQ's cold shutdown), SIGKILL past 30 s more."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(finish_s)
            except subprocess.TimeoutExpired:
                pass
        terminate(self.proc, 30)
        return self.proc.stdout.read() if self.proc.stdout else ""


def register_idle_worker(settings: Settings, device_class: str) -> Worker:
    """Register a real RQ worker entry that does not consume: jobs stay queued (dedupe tests)."""
    client = redis.Redis.from_url(settings.redis_url)
    worker = Worker([get_queue(client, settings.key_prefix, device_class)], connection=client,
                    serializer=JSONSerializer, name=f"idle-{uuid.uuid4().hex[:6]}", worker_ttl=60)
    worker.register_birth()
    return worker


def wait_status(client, pid: str, statuses=("finished", "failed"), timeout: float = 90) -> dict:
    return wait_until(lambda: client.get(f"/profile/{pid}").json(), lambda body: body.get("status") in statuses,
                      scaled(timeout), what=f"profile {pid}")


def wait_done(client, path: str, timeout: float = 180, done=lambda s: s["status"] in ("finished", "failed")) -> dict:
    """GET ``path`` until ``done`` (a sweep or recommendation, by default finished or failed)."""
    return wait_until(lambda: client.get(path).json(), done, scaled(timeout), every=0.2, what=path)


CALLBACKS = {"callback_allowed_hosts": ["127.0.0.1/32"], "callback_secret": "s3cret-for-tests",
             "callback_backoff_s": 0.2, "outbox_poll_s": 0.1}


class ApiProcess:
    """The real API under uvicorn in its own process (tests where a restart or a stream matters)."""

    def __init__(self, settings: Settings, port: int, env: dict | None = None):
        env = {**os.environ, "REDIS_URL": settings.redis_url, "FASTSCALE_KEY_PREFIX": settings.key_prefix,
               "PYTHONPATH": str(ROOT), "FASTSCALE_LOG_JSON": "false", **(env or {})}
        cmd = [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory", "--host", "127.0.0.1",
               "--port", str(port), "--log-level", "warning"]
        self.proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.url = f"http://127.0.0.1:{port}"

    def ready(self) -> bool:
        import httpx

        if self.proc.poll() is not None:
            raise RuntimeError(f"API exited: {self.proc.stdout.read()}")
        try:
            return httpx.get(self.url + "/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def wait_ready(self, timeout: float = 30) -> "ApiProcess":
        wait_until(self.ready, bool, scaled(timeout), every=0.1, what="API start")
        return self

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(scaled(10))

    def stop(self) -> None:
        terminate(self.proc, 20)



class OverTestClient(httpx.BaseTransport):
    """An httpx transport that sends through a Starlette ``TestClient`` (the real app, in-process).

    Why not ``TestClient._transport``: Starlette builds its TestClient on ``httpx2`` when that is
    installed (huggingface_hub, which timm needs, brings it), and an ``httpx.Client`` refuses a
    response stream of the other package. Bytes in, bytes out works with either."""

    def __init__(self, client):
        self.client = client

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        r = self.client.request(request.method, str(request.url), headers=dict(request.headers),
                                content=request.read())
        return httpx.Response(r.status_code, headers=list(r.headers.multi_items()), content=r.content)


# API settings under which a CPU job times to its whole budget: no CPU run meets a 0.05 % stability
# target (the CPU default, +-5 %, lets a tiny job stop in a second), so a fault a test places
# "mid-job" always lands while the job is still running.
RUNS_ITS_BUDGET = {"cpu_target_rel_ci": 0.0005}
