"""`fastscale serve` as a user runs it: one command, embedded Redis, a local worker, the API; then the
`fastscale scale --wait` client; then shutdown with nothing left behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import httpx
import pytest

from service.redis.embedded import free_port
from service.polling import PollTimeout, poll_until, wait_until
from tests.service_helpers import ROOT, TINY_SPEC
from tests.load import scaled


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is not running
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split()[2] != "Z"
    except OSError:
        return False


def _start(tmp_path, port):
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env.update(PYTHONPATH=str(ROOT), FASTSCALE_WORKER_DEVICE="cpu", OMP_NUM_THREADS="1")
    proc = subprocess.Popen([sys.executable, "-m", "cli", "serve", "--port", str(port), "--data-dir",
                             str(tmp_path / "data")], env=env, cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)

    def workers_ready():
        if proc.poll() is not None:
            pytest.fail(proc.stdout.read())
        try:
            return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).json().get("workers")
        except (httpx.HTTPError, ValueError):
            return None

    try:
        wait_until(workers_ready, bool, 60, every=0.2)
    except PollTimeout:
        proc.kill()
        pytest.fail("fastscale serve did not become ready with a worker")
    return proc


def test_serve_scale_wait_and_clean_shutdown(tmp_path):
    port = free_port()
    serve = _start(tmp_path, port)
    children = _children(serve.pid)
    assert len(children) >= 2  # embedded redis-server and the worker
    spec = tmp_path / "tiny.json"
    spec.write_text(json.dumps(TINY_SPEC))
    out = subprocess.run([sys.executable, "-m", "cli", "scale", "--spec", str(spec), "-f", "2", "-b", "2",
                          "--time-budget", "0.5", "--device", "cpu", "--wait", "--json", "--url", f"http://127.0.0.1:{port}"],
                         capture_output=True, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert out.returncode == 0, out.stderr
    record = json.loads(out.stdout)
    assert record["status"] == "finished" and record["result"]["inference"]["median_ms"] > 0
    png = tmp_path / "sweep.png"
    out = subprocess.run([sys.executable, "-m", "cli", "sweep", "--spec", str(spec), "--strategies", "w,dWr",
                          "--factors", "1,2", "-b", "2", "--time-budget", "0.3", "--device", "cpu", "--out", str(png),
                          "--url", f"http://127.0.0.1:{port}"],
                         capture_output=True, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=180)
    assert out.returncode == 0, out.stderr
    # r is printed only over stable points; on a busy CPU the tiny budget may leave too few.
    assert ("Pearson r" in out.stdout or "no correlation" in out.stdout) and "(n=" in out.stdout
    assert png.read_bytes()[:4] == b"\x89PNG"
    serve.send_signal(signal.SIGTERM)
    assert serve.wait(scaled(60)) == 0
    assert not [p for p in children if _alive(p)], "orphaned processes after shutdown"
    assert (tmp_path / "data" / "appendonly.aof").exists() or list((tmp_path / "data").glob("appendonly*"))


def test_sigkill_of_serve_leaves_no_orphans(tmp_path):
    serve = _start(tmp_path, free_port())
    children = _children(serve.pid)
    serve.send_signal(signal.SIGKILL)
    serve.wait(scaled(10))
    poll_until(lambda: [p for p in children if _alive(p)], lambda alive: not alive, 20, every=0.2)
    assert not [p for p in children if _alive(p)], "children outlived a SIGKILLed serve"
