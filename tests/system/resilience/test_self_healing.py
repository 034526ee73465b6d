"""Issue 22, findings 3, 5 and 7: a service that heals itself.

`fastscale serve` keeps its embedded redis-server alive (restart on exit, AOF keeps the data) and
/healthz fails only while it stays down past FASTSCALE_REDIS_DOWN_UNHEALTHY_S; its local worker
waits a Redis outage out in the same process (no restart, no second torch import); a job posted
while the worker is still starting is queued (202) and waits for it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx
import redis
from fastapi.testclient import TestClient

from app.main import create_app
from service.polling import wait_until
from service.redis.embedded import EmbeddedRedis, free_port
from service.redis.keeper import RedisKeeper
from tests.service_helpers import ROOT, TINY_SPEC, settings_for, terminate


def test_the_keeper_restarts_redis_with_its_data_and_healthz_fails_only_while_it_stays_down(tmp_path):
    server = EmbeddedRedis(tmp_path / "data", port=free_port()).start()
    keeper = RedisKeeper(server).start()
    try:
        server.client().set("kept", "yes")
        time.sleep(1.5)  # appendfsync everysec
        os.kill(server.proc.pid, signal.SIGKILL)
        wait_until(lambda: _read(server, "kept"), lambda v: v == b"yes", 20, what="the restarted server with its data")
        wait_until(lambda: keeper.restarts, lambda n: n == 1, 5, what="the keeper to count its restart")
        app = create_app(settings_for(server.url, redis_down_unhealthy_s=1.0))
        with TestClient(app) as api:
            app.state.redis_keeper = keeper
            assert api.get("/healthz").status_code == 200
            blocker = tmp_path / "blocked"
            blocker.write_text("a file where the data dir should be: the server cannot start")
            server.data_dir = blocker
            os.kill(server.proc.pid, signal.SIGKILL)
            down = wait_until(lambda: api.get("/healthz"), lambda r: r.status_code == 503, 20, what="healthz failing")
            assert "down" in down.json()["redis"] and keeper.down_for() > 1.0
            server.data_dir = tmp_path / "data"
            wait_until(lambda: api.get("/healthz").status_code, lambda s: s == 200, 30, what="healthz back")
            assert server.client().get("kept") == b"yes"
    finally:
        keeper.stop()
        server.stop()


def _read(server: EmbeddedRedis, key: str):
    try:
        return server.client().get(key)
    except (redis.ConnectionError, redis.TimeoutError):
        return None  # still starting


def _redis_child(pid: int) -> int:
    out = subprocess.run(["pgrep", "-P", str(pid), "-f", "redis-server"], capture_output=True, text=True).stdout
    return int(out.split()[0])


def test_serve_heals_a_killed_redis_and_its_worker_waits_it_out(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env.update(PYTHONPATH=str(ROOT), FASTSCALE_WORKER_DEVICE="cpu", OMP_NUM_THREADS="1", FASTSCALE_LOG_JSON="false")
    proc = subprocess.Popen([sys.executable, "-m", "cli", "serve", "--port", str(port), "--data-dir", str(tmp_path / "d")],
                            env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _get(url + "/healthz"), lambda r: r is not None and r.status_code == 200, 60, what="serve up")
        # Finding 7: the worker is still importing torch; the job is queued and waits for it.
        posted = httpx.post(url + "/scale", json={"spec": TINY_SPEC, "factor": 2,
                                                   "profile": {"device": "cpu", "batch_size": 2, "time_budget_s": 0.5}})
        assert posted.status_code == 202, posted.text
        wait_until(lambda: _get(url + "/readyz"), lambda r: r is not None and r.json().get("workers"), 90,
                   what="the local worker")
        worker_pids = subprocess.run(["pgrep", "-P", str(proc.pid), "-f", "workers.run"], capture_output=True,
                                     text=True).stdout.split()
        os.kill(_redis_child(proc.pid), signal.SIGKILL)
        wait_until(lambda: _get(url + "/readyz"), lambda r: r is not None and r.status_code == 200, 30,
                   what="readyz after the embedded Redis was killed")
        assert httpx.get(url + "/healthz").status_code == 200  # down for seconds, under the setting
        done = wait_until(lambda: httpx.get(url + f"/profile/{posted.json()['id']}").json(),
                          lambda b: b["status"] in ("finished", "failed"), 120, what="the job")
        assert done["status"] == "finished", done
        after = subprocess.run(["pgrep", "-P", str(proc.pid), "-f", "workers.run"], capture_output=True,
                               text=True).stdout.split()
        assert after == worker_pids  # the worker waited the outage out: never restarted
    finally:
        terminate(proc, 30)


def _get(url: str):
    try:
        return httpx.get(url, timeout=2)
    except httpx.HTTPError:
        return None
