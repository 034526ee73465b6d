"""Issue 13, item 10: a lease is refreshed, reported through and dropped only while it still holds
this attempt (compare-and-set in Lua), so a stale attempt cannot clobber the live one."""

from __future__ import annotations

import json
import uuid

import pytest
import redis

from service.redis.keys import Keys
from service.redis.leases import LEASE_TTL_S, Lease, Superseded, lease_value


@pytest.fixture
def keys(redis_url):
    k = Keys(f"fst{uuid.uuid4().hex[:8]}")
    yield k
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(f"{k.prefix}:*"):
        client.delete(key)


def test_a_stale_attempt_stops_and_leaves_the_live_lease_and_progress_alone(redis_url, keys):
    client, pid = redis.Redis.from_url(redis_url), uuid.uuid4().hex
    client.set(keys.lease(pid), lease_value(1, 1, "old"), ex=LEASE_TTL_S)
    with pytest.raises(Superseded):
        with Lease(client, keys, pid, 1, 1, "old") as stale:
            stale.report(json.dumps({"phase": "timing", "attempt": 1}))  # still ours: written
            # the reaper handed the job on while "old" was paused; attempt 2 took the lease
            client.set(keys.lease(pid), lease_value(1, 2, "new"), ex=LEASE_TTL_S)
            client.set(keys.progress(pid), json.dumps({"phase": "warm-up", "attempt": 2}))
            stale.report(json.dumps({"phase": "timing", "attempt": 1}))
    assert client.get(keys.lease(pid)).decode() == lease_value(1, 2, "new")  # not deleted, not overwritten
    assert json.loads(client.get(keys.progress(pid)))["attempt"] == 2
    assert stale.lost.is_set()


def test_the_live_attempt_refreshes_reports_and_releases(redis_url, keys):
    client, pid = redis.Redis.from_url(redis_url), uuid.uuid4().hex
    client.set(keys.lease(pid), lease_value(1, 1, "w"), ex=3)
    with Lease(client, keys, pid, 1, 1, "w") as lease:
        assert client.ttl(keys.lease(pid)) > 3  # refreshed to the full TTL
        lease.report(json.dumps({"phase": "timing"}))
        assert json.loads(client.get(keys.progress(pid)))["phase"] == "timing"
    assert client.get(keys.lease(pid)) is None and not lease.lost.is_set()
