"""Fixtures shared by the service-layer tests: ProfileStores on the session's Redis, each under
its own key prefix, and their keys dropped afterwards; a Planner with two planning processes."""

import uuid

import pytest
import redis

from service.planning.cache import Planner
from service.profiles.store import ProfileStore


@pytest.fixture
def store_factory(redis_url):
    made = []

    def make(result_ttl: int = 600, failure_ttl: int = 300) -> ProfileStore:
        s = ProfileStore(redis.Redis.from_url(redis_url), f"fst{uuid.uuid4().hex[:8]}", result_ttl=result_ttl,
                         failure_ttl=failure_ttl)
        made.append(s)
        return s

    yield make
    for s in made:
        for key in s.r.scan_iter(f"{s.prefix}:*"):
            s.r.delete(key)


@pytest.fixture
def store(store_factory):
    return store_factory()


@pytest.fixture
def planner():
    p = Planner(workers=2, backlog=4, timeout_s=30, cache_bytes=8 * 2**20)
    yield p
    p.executor.shutdown()
