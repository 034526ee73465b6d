"""Issue 13, item 14: `fastscale worker --check`, the worker containers' health check, passes
while every worker process keeps its heartbeat file fresh, and fails once one is gone or silent."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from tests.service_helpers import ROOT, WorkerProcess, scaled
from workers.health import check, write_beat


def run_check(beat_dir) -> subprocess.CompletedProcess:
    env = {**os.environ, "FASTSCALE_WORKER_HEARTBEAT_DIR": str(beat_dir), "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "cli.main", "worker", "--check"], env=env, capture_output=True,
                          text=True, timeout=60)


def test_a_silent_slot_is_unhealthy_and_no_slot_is_too(tmp_path):
    write_beat(tmp_path, "cpu-x.host.cpu0", time.time() + 30)
    write_beat(tmp_path, "cpu-x.host.cpu1", time.time() + 30)
    assert check(tmp_path)[0]
    write_beat(tmp_path, "cpu-x.host.cpu1", time.time() - 5)
    healthy, lines = check(tmp_path)
    assert not healthy and any("cpu1" in line and "silent" in line for line in lines)
    assert check(tmp_path / "nothing") == (False, [f"no worker has started in {tmp_path / 'nothing'}"])


def test_the_check_follows_a_real_worker(service, tmp_path):
    w = WorkerProcess(service.settings, env={"FASTSCALE_WORKER_HEARTBEAT_DIR": str(tmp_path)}).wait_registered(90)
    try:
        alive = run_check(tmp_path)
    finally:
        w.stop()
    assert alive.returncode == 0 and "ok" in alive.stdout, alive.stdout + alive.stderr
    gone = run_check(tmp_path)
    assert gone.returncode == 1, gone.stdout


def test_a_stop_before_rq_listens_ends_the_worker_through_its_clean_up(service, tmp_path):
    """RQ installs its signal handlers only after registering the worker; before that (warm-up,
    registration) a SIGTERM killed the process outright (exit -15), leaving its heartbeat file
    saying ok and its RQ entry behind. Now the stop is noted and honoured once warm-up is over:
    the worker ends through its clean-up, with exit status 0, and never registers."""
    w = WorkerProcess(service.settings, env={"FASTSCALE_WORKER_HEARTBEAT_DIR": str(tmp_path)})
    lines = []
    for line in w.proc.stdout:  # the worker's log, until its warm-up begins
        lines.append(line)
        if "warming up" in line:
            break
    w.proc.terminate()
    assert w.proc.wait(scaled(60)) == 0, "".join(lines) + w.proc.stdout.read()
    assert "stopped before taking a job" in w.proc.stdout.read()
    assert not list(tmp_path.glob("*"))
    assert not w.rq_names()
