"""Live progress against the real API under uvicorn: SSE streams (state first, progress, heartbeats,
the end at the final state), the CLI's --wait on them, and the client's fallback to polling."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time

import httpx
import pytest

from fastscale_client import AsyncClient, Client
from service.redis.embedded import free_port
from tests.service_helpers import ROOT, TINY_PROFILE, TINY_SPEC, ApiProcess, WorkerProcess, register_idle_worker, settings_for

PROFILE = {**TINY_PROFILE, "device": "cpu-test", "modes": ["inference"]}


@pytest.fixture(scope="module")
def live(redis_url):
    """One API process and one worker for the module (starting them is most of each test's time)."""
    settings = settings_for(redis_url)
    api = ApiProcess(settings, free_port(), {"FASTSCALE_EVENTS_HEARTBEAT_S": "0.3"}).wait_ready()
    api.settings = settings
    worker = WorkerProcess(settings).wait_registered()
    yield api
    api.stop()
    worker.stop()


def test_a_profile_streams_its_state_progress_and_end(live):
    with Client(live.url) as api:
        pid = api.scale(spec=TINY_SPEC, factor=2, profile={**PROFILE, "time_budget_s": 1.5}).id
        events = list(api.events(pid))
    assert events[0].event == "status" and events[0].data["id"] == pid
    assert any(e.event == "progress" and "timing" in e.data["progress"]["phase"] for e in events)
    assert events[-1].final and events[-1].data["status"] == "finished" and events[-1].data["result"]
    assert [e for e in events if e.final] == [events[-1]]


def test_a_waiting_stream_beats_and_ends_when_cancelled(live):
    register_idle_worker(live.settings, "cpu-idle")  # registered but idle: the job stays queued
    with Client(live.url) as api:
        pid = api.scale(spec=TINY_SPEC, factor=3, profile={**PROFILE, "device": "cpu-idle"}).id
        threading.Timer(1.5, lambda: Client(live.url).cancel(pid)).start()
        with httpx.stream("GET", f"{live.url}/profile/{pid}/events", timeout=10) as r:
            assert r.headers["content-type"].startswith("text/event-stream")
            lines = list(r.iter_lines())
    assert lines.count(": heartbeat") >= 2  # FASTSCALE_EVENTS_HEARTBEAT_S=0.3 while nothing happened
    statuses = [json.loads(line[5:])["status"] for line in lines if line.startswith("data:")]
    assert statuses == ["queued", "cancelled"]  # the state first, then the final one, then the end


def test_the_cli_waits_on_the_stream_and_says_a_result_is_cached(live, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "FASTSCALE_URL": live.url}
    spec = tmp_path / "tiny.json"
    spec.write_text(json.dumps(TINY_SPEC))
    args = [sys.executable, "-m", "cli", "scale", "--spec", str(spec), "-f", "2",
            "-b", "2", "--time-budget", "0.3", "--device", "cpu-test", "--modes", "inference", "--wait"]
    first = subprocess.run(args + ["--json"], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert first.returncode == 0, first.stderr
    pid = json.loads(first.stdout)["id"]
    assert json.loads(first.stdout)["plan"]["base"]["name"] == "tiny"  # --spec tiny.json: named after the file
    # stderr is a pipe, not a terminal: progress comes as plain lines with the elapsed time, never nothing
    progress = [line for line in first.stderr.splitlines() if line.startswith("[") and f"profile {pid}" in line]
    assert progress and " s] " in progress[0], first.stderr
    metrics = httpx.get(f"{live.url}/metrics").text
    streamed = [line for line in metrics.splitlines() if line.startswith("fastscale_http_requests_total")
                and 'route="/profile/{pid}/events"' in line]
    polled = [line for line in metrics.splitlines() if line.startswith("fastscale_http_requests_total")
              and 'route="/profile/{pid}"' in line and 'method="GET"' in line]
    assert streamed and not polled, metrics  # --wait followed the events, it did not poll
    again = subprocess.run(args, capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert again.returncode == 0, again.stderr
    assert "cached result, measured" in again.stdout and pid in again.stdout  # the whole id, not a prefix
    listed = subprocess.run([sys.executable, "-m", "cli", "profiles", "--limit", "5"], capture_output=True, text=True,
                            cwd=ROOT, env={**env, "COLUMNS": "80"}, timeout=120)
    assert listed.returncode == 0 and pid in listed.stdout.replace("\n", "").replace("│", "").replace(" ", "") \
        and "…" not in listed.stdout, listed.stdout  # 80 columns: the id folds, it is never cut


def test_the_client_falls_back_to_polling_when_the_stream_breaks(live):
    real = httpx.HTTPTransport()

    def broken_streams(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/events"):
            raise httpx.RemoteProtocolError("stream cut", request=request)
        return real.handle_request(request)

    with Client(live.url, transport=httpx.MockTransport(broken_streams)) as api:
        pid = api.scale(spec=TINY_SPEC, factor=4, profile=PROFILE).id
        seen = []
        started = time.monotonic()
        record = api.wait(pid, 90, on_update=seen.append, poll=0.2)
    assert record.status == "finished" and record.result["inference"]["median_ms"] > 0
    assert len(seen) >= 1 and time.monotonic() - started < 90


def test_a_sweep_streams_until_its_rows_are_done(live):
    with Client(live.url) as api:
        sid = api.sweep(spec=TINY_SPEC, strategies=["w"], factors=[5, 6], profile={**PROFILE, "time_budget_s": 0.3}).id
        events = list(api.events(sid, kind="sweep"))
    assert events[0].event == "status" and events[0].data["id"] == sid
    assert events[-1].final and events[-1].data["status"] == "finished" and events[-1].data["done"] == 2
    assert "analysis" in events[-1].data


def test_the_async_client_submits_waits_and_pages(live):
    async def run():
        async with AsyncClient(live.url) as api:
            accepted = await api.scale(spec=TINY_SPEC, factor=7, profile={**PROFILE, "time_budget_s": 0.3})
            record = await api.wait(accepted.id, 90)
            listed = [i.id async for page in api.profiles(limit=1, status="finished") for i in page.items]
            return accepted.id, record, listed

    pid, record, listed = asyncio.run(run())
    assert record.status == "finished" and record.result["inference"]["median_ms"] > 0
    assert pid in listed and len(listed) == len(set(listed))
