"""Issue 13, item 6: the rate limit holds. Forwarded addresses count only from configured
proxies, client identities are hashed before they name a Redis key, the limit fails closed when
Redis cannot count, and wrong API keys are throttled per address."""

from __future__ import annotations

import re
import time

import httpx
import pytest
import redis as redis_lib
from fastapi.testclient import TestClient

from app.main import create_app
from service.access.auth import hash_key
from service.redis.embedded import EmbeddedRedis, free_port
from tests.service_helpers import settings_for
from tests.system.live_api import LiveApi

PLAN = {"model": "ResNet-50", "factor": 2}
KEY = "right-key-" + "k" * 22


def clear_of_the_window_edge(needed_s: float = 15) -> None:
    """Limits count per clock minute: start where the test cannot straddle a new minute."""
    if time.time() % 60 > 60 - needed_s:
        time.sleep(60 - time.time() % 60 + 0.1)


@pytest.fixture
def own_redis(tmp_path):
    server = EmbeddedRedis(tmp_path / "redis", port=free_port()).start()
    yield server
    server.stop()


def test_rotating_x_forwarded_for_does_not_escape_the_limit(redis_url):
    api = LiveApi(redis_url, {"FASTSCALE_RATE_LIMIT_PER_MINUTE": "5"}).wait_ready()
    try:
        clear_of_the_window_edge()
        codes = [httpx.post(api.url + "/plan", json=PLAN, headers={"x-forwarded-for": f"10.9.{i}.{i}"}).status_code
                 for i in range(12)]
        names = [k.decode("latin-1") for k in redis_lib.Redis.from_url(redis_url).scan_iter(f"{api.prefix}:rate:*")]
    finally:
        api.stop()
    assert codes.count(200) == 5 and codes[5:] == [429] * 7, codes
    assert names and all(re.fullmatch(rf"{api.prefix}:rate:post:[0-9a-f]{{32}}:\d+", n) for n in names), names


def test_a_trusted_proxy_names_the_client(redis_url):
    api = LiveApi(redis_url, {"FASTSCALE_RATE_LIMIT_PER_MINUTE": "2", "FASTSCALE_TRUSTED_PROXIES": "127.0.0.1"})
    api.wait_ready()
    try:
        codes = [httpx.post(api.url + "/plan", json=PLAN, headers={"x-forwarded-for": f"10.8.0.{i // 2}"}).status_code
                 for i in range(6)]
    finally:
        api.stop()
    assert codes == [200] * 6  # three clients, two requests each: each within its own limit


@pytest.mark.parametrize("outage", ["stopped", "paused"])
def test_the_limit_fails_closed_when_redis_cannot_count(own_redis, outage):
    settings = settings_for(own_redis.url, rate_limit_per_minute=4)
    with TestClient(create_app(settings)) as api:
        clear_of_the_window_edge()
        assert api.post("/plan", json=PLAN).status_code == 200
        if outage == "stopped":
            own_redis.stop()
        else:  # every write waits: what an exhausted pool or a stalled Redis looks like to the limiter
            redis_lib.Redis.from_url(own_redis.url).execute_command("CLIENT", "PAUSE", "6000", "WRITE")
        started = time.perf_counter()
        codes = [api.post("/plan", json=PLAN).status_code for _ in range(6)]
        elapsed = time.perf_counter() - started
    assert codes == [200] * 4 + [429] * 2, codes  # this process counted on: 4 a minute, not unlimited
    assert elapsed < 6, elapsed


def test_wrong_keys_are_throttled_per_address_whatever_key_comes_next(redis_url):
    settings = settings_for(redis_url, api_key_hashes=[hash_key(KEY)], auth_failures_per_minute=10)
    with TestClient(create_app(settings)) as api:
        clear_of_the_window_edge()
        codes = [api.get("/models", headers={"x-api-key": f"guess-{i:04d}-" + "g" * 20}).status_code
                 for i in range(200)]
        right = api.get("/models", headers={"x-api-key": KEY})
        names = [k.decode("latin-1") for k in redis_lib.Redis.from_url(redis_url).scan_iter(f"{settings.key_prefix}:*")]
    assert codes[:10] == [401] * 10 and set(codes[10:]) == {429}, codes[:15]
    assert right.status_code == 429 and int(right.headers["retry-after"]) <= 60
    assert "FASTSCALE_AUTH_FAILURES_PER_MINUTE" in right.json()["detail"]
    assert not any("testclient" in n or "guess" in n for n in names), names
