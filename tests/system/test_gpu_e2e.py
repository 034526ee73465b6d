"""bench/gpu_e2e.py (issue #10, requirement 5): its CPU smoke run goes the whole path through a
real `fastscale serve`, and its wait for the server fails fast when the server dies."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from bench.e2e.server import Server, ServerDied
from tests.service_helpers import ROOT


def test_smoke_run_goes_the_whole_path(tmp_path):
    out_json = tmp_path / "e2e.json"
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    proc = subprocess.run([sys.executable, "bench/gpu_e2e.py", "--smoke", "--json-out", str(out_json),
                           "--data-dir", str(tmp_path / "data")],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    for step in ("server ready", "sweep finished", "forced re-measurements", "bf16 + channels_last", "recommendation"):
        assert step in proc.stdout, step
    assert "meas/pred" in proc.stdout and "repeat spread" in proc.stdout
    data = json.loads(out_json.read_text())
    labels = {p["label"] for p in data["profiles"]}
    assert len([x for x in labels if x.startswith("sweep")]) == 3  # w and dWr at 1x are one network
    assert len([x for x in labels if x.startswith("repeat")]) == 3 and any("bf16" in x for x in labels)
    for p in data["profiles"]:
        if "error" in p:  # a CPU whose torch crashes in this step refuses it (workers/profiler/kernel_probe.py)
            assert p["label"].startswith("bf16") and "channels_last=false" in p["error"], p
            continue
        assert p["stop"] in ("converged", "budget", "cap")
        assert p["n"] >= 10 or p["stop"] == "cap"  # min_iters, unless the hard cap stopped the mode
        assert p["stable"] == (p["stop"] == "converged")
    assert data["summary"]["points"]["training"]["distinct"] == 3 and len(data["sweep"]["rows"]) == 4
    assert [g["pass"] for g in data["goals"]][2] is None  # no peak memory on a CPU
    assert data["recommendation"]["status"] in ("finished", "failed") and data["recommendation"]["evidence"]


def test_waiting_for_a_dead_server_stops_at_once_with_its_log(tmp_path):
    server = Server("cpu", tmp_path, env={"FASTSCALE_API_KEY_HASHES": "not-a-digest"}).start()
    started = time.monotonic()
    try:
        with pytest.raises(ServerDied) as err:
            server.wait_ready(timeout=120)
    finally:
        server.stop()
    assert time.monotonic() - started < 30
    assert "exited with" in str(err.value) and "SHA-256" in str(err.value)


def test_the_probe_smoke_run_writes_every_step(tmp_path):
    """bench/gpu_probe.py on a CPU: every step it runs on a GPU, each record written as it comes."""
    out = tmp_path / "probe.jsonl"
    proc = subprocess.run([sys.executable, "bench/gpu_probe.py", "--smoke", "--out", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    records = [json.loads(line) for line in out.read_text().splitlines()]
    steps = [r["step"] for r in records]
    assert steps[0] == "start" and steps[-1] == "end" and "modules" in steps
    profiles = [r for r in records if r["step"] == "profile"]
    assert {(r["label"], r["attempt"], r["mode"]) for r in profiles} == {
        (label, attempt, mode) for label in ("tiny 1x", "tiny dWr 2x") for attempt in ("first", "second")
        for mode in ("inference", "training")}
    assert all(r["peak"] is None and r["required"] > 0 for r in profiles)  # no device allocator on a CPU
    spread = [r for r in records if r["step"] == "spread"]
    assert [r["gc"] for r in spread] == [True, False] and all(len(r["times_ms"]) == r["n"] == 10 for r in spread)


def test_the_server_keeps_an_inherited_pythonpath(tmp_path, monkeypatch):
    """The server that gpu_e2e starts keeps a side folder of packages on PYTHONPATH (a GPU host
    with the service's wheels in /tmp/site): the first H200 run could not have started without it.
    The folder's sitecustomize.py, which Python imports at start-up from the path, leaves a mark."""
    site = tmp_path / "site"
    site.mkdir()
    mark = tmp_path / "imported"
    (site / "sitecustomize.py").write_text(f"open({str(mark)!r}, 'a').write('x')\n")
    monkeypatch.setenv("PYTHONPATH", str(site))
    server = Server("cpu", tmp_path / "data").start()
    try:
        deadline = time.monotonic() + 60
        while not mark.exists() and server.proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        server.stop()
    assert mark.exists(), server.log_tail()
