"""schemathesis against the live API (real uvicorn, own Redis, a registered worker): no 5xx."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.redis.embedded import EmbeddedRedis, free_port
from tests.service_helpers import ROOT, register_idle_worker, settings_for


@pytest.fixture(scope="module")
def live_api(tmp_path_factory):
    server = EmbeddedRedis(tmp_path_factory.mktemp("fuzz-redis"), port=free_port()).start()
    port = free_port()
    env = {**os.environ, "REDIS_URL": server.url, "FASTSCALE_KEY_PREFIX": "fuzz", "PYTHONPATH": str(ROOT),
           "FASTSCALE_RATE_LIMIT_PER_MINUTE": "0", "FASTSCALE_LOG_JSON": "true"}
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory", "--port", str(port),
                             "--log-level", "warning"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            httpx.get(base + "/healthz", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.1)
    register_idle_worker(settings_for(server.url, "fuzz"), "cpu-fuzz")
    yield base
    proc.terminate()
    _, err = proc.communicate(timeout=20)
    server.stop()
    assert "Traceback" not in err, err[-3000:]


def test_no_server_errors(live_api):
    """Cases from schemathesis's generators for every operation, driven by Hypothesis directly
    (its pytest plugin does not load under this pytest)."""
    schema = schemathesis.openapi.from_url(live_api + "/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 9
    seen = []

    @settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(st.one_of([op.as_strategy() for op in operations]))
    def run(case):
        response = case.call(base_url=live_api)
        seen.append((case.method, response.status_code))
        assert response.status_code < 500, (case.method, case.path, case.body, response.status_code, response.text[:500])

    run()
    print(f"schemathesis: {len(seen)} requests, statuses {sorted(set(c for _, c in seen))}")
    assert {m for m, _ in seen} >= {"GET", "POST"}
    assert any(code < 300 for _, code in seen) and any(400 <= code < 500 for _, code in seen)
