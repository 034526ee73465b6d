"""Issue 13, item 2: a burst of expensive plans does not stall the API. Against a real server,
40 concurrent uncached plans that each cost tens of seconds (before the core's CPU budget) get
fast answers (429 beyond the planning slots, 503 or 422 for the ones that ran), while /healthz,
/models, /metrics and a cached /plan keep answering at once. bench/plan_load.py measures more."""

from __future__ import annotations

import statistics
import threading
import time

import httpx
import pytest

from tests.system.live_api import LiveApi

pytestmark = pytest.mark.serial  # timing-sensitive: run alone (Makefile)

# 16 stages of width 262144: 46-80 s of planning in-process before the core bounded it.
SLOW = {"family": "anynet", "stem_type": "simple_stem_in", "stem_w": 32, "block_type": "res_bottleneck_block",
        "depths": [1] * 16, "widths": [262144] * 16, "strides": [1] * 16, "bot_muls": [0.0625] * 16,
        "group_ws": [8192] * 16, "se_r": 0.0}


@pytest.fixture
def api(redis_url):
    live = LiveApi(redis_url, {"FASTSCALE_PLAN_WORKERS": "1", "FASTSCALE_PLAN_BACKLOG": "2",
                               "FASTSCALE_PLAN_TIMEOUT_S": "4", "FASTSCALE_RATE_LIMIT_PER_MINUTE": "0"}).wait_ready()
    yield live
    live.stop()


def timed_get(client: httpx.Client, path: str) -> tuple[int, float]:
    started = time.perf_counter()
    try:
        return client.get(path).status_code, time.perf_counter() - started
    except httpx.TimeoutException:
        return 0, time.perf_counter() - started


def test_expensive_plans_do_not_stall_the_api(api):
    client = httpx.Client(base_url=api.url, timeout=5)
    cached = {"model": "ResNet-50", "factor": 2}
    assert client.post("/plan", json=cached).status_code == 200
    storm: list[tuple[int, float]] = []
    burst = httpx.Client(base_url=api.url, timeout=30, limits=httpx.Limits(max_connections=50))

    def expensive(i: int) -> None:
        started = time.perf_counter()
        try:
            code = burst.post("/plan", json={"spec": SLOW, "factor": 2 + i / 100}).status_code
        except httpx.TimeoutException:
            code = 0
        storm.append((code, time.perf_counter() - started))

    threads = [threading.Thread(target=expensive, args=(i,)) for i in range(40)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 3  # the refusals come back at once; the admitted plans keep running
    while len(storm) < 37 and time.monotonic() < deadline:
        time.sleep(0.05)
    health = [timed_get(client, "/healthz") for _ in range(10)]
    others = {path: timed_get(client, path) for path in ("/models", "/metrics", "/strategies")}
    started = time.perf_counter()
    plan_code = client.post("/plan", json=cached).status_code
    plan_s = time.perf_counter() - started
    for t in threads:
        t.join(40)
    assert all(code == 200 for code, _ in health), health
    assert max(s for _, s in health) < 0.5 and statistics.median(s for _, s in health) < 0.1, health
    assert all(code == 200 and s < 2 for code, s in others.values()), others
    assert plan_code == 200 and plan_s < 1, (plan_code, plan_s)
    codes = sorted(code for code, _ in storm)
    assert len(storm) == 40 and set(codes) <= {200, 422, 429, 503}, codes
    # One planning process and a backlog of 2 admit 3 at a time; an admitted plan ends in ~1 s (its
    # CPU budget, then 422), so while 40 threads are still starting on a loaded 2-core machine a
    # few more get in (34 of 40 were refused in one such run). Without the bound none would be.
    assert codes.count(429) >= 25 and max(s for code, s in storm if code == 429) < 2, storm
    assert max(s for _, s in storm) < 10, storm  # none waits past FASTSCALE_PLAN_TIMEOUT_S (4 s) by much
