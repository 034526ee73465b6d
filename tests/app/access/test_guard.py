"""Auth, rate limits, queue depth and size limits, with real Redis."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from app.main import create_app
from service.access.auth import hash_key
from service.settings import Settings
from tests.service_helpers import TINY_PROFILE, TINY_SPEC, register_idle_worker, settings_for

KEY = "k3y-" + "x" * 28
PLAN = {"model": "ResNet-50", "factor": 2}


def make(redis_url, **kw):
    s = settings_for(redis_url, f"fst{uuid.uuid4().hex[:8]}", **kw)
    c = TestClient(create_app(s))
    c.settings = s
    return c


def test_auth_required_when_keys_are_configured(redis_url):
    with make(redis_url, api_key_hashes=[hash_key(KEY)]) as api:
        assert api.post("/plan", json=PLAN).status_code == 401
        r = api.post("/plan", json=PLAN, headers={"x-api-key": "wrong-" + KEY})
        assert r.status_code == 401 and r.headers["www-authenticate"] == "ApiKey" and "X-API-Key" in r.json()["detail"]
        assert api.post("/plan", json=PLAN, headers={"x-api-key": KEY}).status_code == 200
        assert api.get("/models").status_code == 401
        assert api.get("/healthz").status_code == 200
        assert api.get("/metrics").status_code == 401  # behind a key by default (issue 23: it shows the fleet)


def test_metrics_can_require_a_key(redis_url):
    with make(redis_url, api_key_hashes=[hash_key(KEY)], metrics_public=False) as api:
        assert api.get("/metrics").status_code == 401
        assert api.get("/metrics", headers={"x-api-key": KEY}).status_code == 200


def test_auth_is_off_in_the_default_and_settings_refuse_plain_keys(redis_url, monkeypatch):
    with make(redis_url) as api:
        assert api.post("/plan", json=PLAN).status_code == 200
    monkeypatch.setenv("FASTSCALE_API_KEY_HASHES", KEY)
    with pytest.raises(ValidationError) as err:
        Settings()
    assert "never plain keys" in str(err.value) and KEY not in str(err.value.errors()[0].get("ctx", ""))
    monkeypatch.setenv("FASTSCALE_API_KEY_HASHES", f"{hash_key(KEY)}, {hash_key(KEY + 'b')}")
    assert Settings().api_key_hashes == [hash_key(KEY), hash_key(KEY + "b")]


def test_rate_limit_per_key_answers_429_with_retry_after(redis_url):
    other = "other-" + "y" * 26
    with make(redis_url, api_key_hashes=[hash_key(KEY), hash_key(other)], rate_limit_per_minute=5) as api:
        codes = [api.post("/plan", json=PLAN, headers={"x-api-key": KEY}).status_code for _ in range(7)]
        assert codes[:5] == [200] * 5 and set(codes[5:]) == {429} or codes.count(429) >= 1
        r = api.post("/plan", json=PLAN, headers={"x-api-key": KEY})
        assert r.status_code == 429 and 0 < int(r.headers["retry-after"]) <= 60
        assert api.post("/plan", json=PLAN, headers={"x-api-key": other}).status_code == 200  # per key
        assert api.get("/models", headers={"x-api-key": KEY}).status_code == 200  # GETs are not limited


def test_queue_depth_limit_answers_503_and_keeps_nothing(redis_url):
    with make(redis_url, max_queue_depth=1) as api:
        register_idle_worker(api.settings, "cpu-test")
        first = api.post("/scale", json={"spec": TINY_SPEC, "factor": 2, "profile": TINY_PROFILE})
        assert first.status_code == 202
        r = api.post("/scale", json={"spec": TINY_SPEC, "factor": 3, "profile": TINY_PROFILE})
        assert r.status_code == 503 and r.headers["retry-after"] and "FASTSCALE_MAX_QUEUE_DEPTH" in r.json()["detail"]
        # Nothing half-accepted: asking again once there is room creates the job normally.
        assert api.get(f"/profile/{first.json()['id']}").json()["status"] == "queued"


def test_size_limits_on_resolution_and_flops(redis_url):
    with make(redis_url, max_resolution=256, max_flops=5e9) as api:
        register_idle_worker(api.settings, "cpu-test")
        r = api.post("/scale", json={"model": "ResNet-50", "strategy": "r", "factor": 4, "profile": TINY_PROFILE})
        assert r.status_code == 422 and "FASTSCALE_MAX_RESOLUTION" in r.json()["detail"]
        r = api.post("/scale", json={"model": "ResNet-50", "strategy": "w", "factor": 4, "profile": TINY_PROFILE})
        assert r.status_code == 422 and "FASTSCALE_MAX_FLOPS" in r.json()["detail"]
        # /plan stays analytic and answers big plans.
        assert api.post("/plan", json={"model": "ResNet-50", "strategy": "w", "factor": 4}).status_code == 200
