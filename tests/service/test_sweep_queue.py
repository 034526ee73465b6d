"""A sweep queues all its rows or none (issue #13, item 4): real Redis, real RQ queues.

Jobs stay queued (an idle registered worker never takes them), so the queue length is exactly
what the sweeps put there.
"""

from __future__ import annotations

import threading

import pytest
import redis

from app.schemas import SweepRequest
from service.context import Services
from service.errors import LimitExceeded, QueueFull
from service.redis.queues import get_queue
from service.sweeps.create import create_sweep
from tests.service_helpers import TINY_SPEC, register_idle_worker, settings_for

CLASS = "cpu-test"


@pytest.fixture
def make_services(redis_url):
    made = []

    def make(**settings) -> Services:
        c = Services.connect(settings_for(redis_url, **settings))
        register_idle_worker(c.settings, CLASS)
        made.append(c)
        return c

    yield make
    r = redis.Redis.from_url(redis_url)
    for c in made:
        for pattern in (f"{c.settings.key_prefix}:*", f"rq:*{c.settings.key_prefix}*"):
            for key in r.scan_iter(pattern):
                r.delete(key)


def sweep_request(strategies, factors, num_classes: int = 10) -> dict:
    spec = {**TINY_SPEC, "num_classes": num_classes}  # another head: other networks, other profiles
    body = {"spec": spec, "strategies": strategies, "factors": factors,
            "profile": {"device": CLASS, "batch_size": 2, "modes": ["inference"], "time_budget_s": 0.3}}
    return SweepRequest(**body).model_dump(mode="json")


def queued(c: Services) -> int:
    return get_queue(c.redis, c.settings.key_prefix, CLASS).count


def records(c: Services) -> int:
    return sum(1 for _ in c.redis.scan_iter(c.keys.profile_pattern))


def test_a_sweep_that_does_not_fit_queues_nothing(make_services):
    c = make_services(max_queue_depth=5)
    req = sweep_request(["w", "d", "r"], [1, 2, 4])  # 9 rows, 7 networks: the 1x base is shared
    with pytest.raises(QueueFull) as err:
        create_sweep(c, req)
    assert "nothing was queued" in str(err.value)
    assert queued(c) == 0 and records(c) == 0 and not list(c.redis.scan_iter(c.keys.sweep("*")))
    roomy = make_services(max_queue_depth=7)
    created = create_sweep(roomy, req)
    assert queued(roomy) == 7 and records(roomy) == 7 and roomy.redis.exists(roomy.keys.sweep(created["id"]))


def test_concurrent_sweeps_never_overfill_the_queue_and_each_accepted_one_is_saved(make_services):
    c = make_services(max_queue_depth=20)
    accepted, refused = [], []

    def post(i: int) -> None:
        try:
            accepted.append(create_sweep(c, sweep_request(["w", "d"], [1, 2, 4], num_classes=10 + i)))
        except QueueFull:
            refused.append(i)

    threads = [threading.Thread(target=post, args=(i,)) for i in range(10)]  # 5 networks each
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(accepted) == 4 and len(refused) == 6
    assert queued(c) == 20 and records(c) == 20
    assert all(c.redis.exists(c.keys.sweep(s["id"])) for s in accepted)


def test_a_row_refused_late_leaves_no_claims_or_jobs_behind(make_services):
    c = make_services(max_resolution=300)
    with pytest.raises(LimitExceeded) as err:  # r at 16x needs ~900 px: refused after rows 1 and 2
        create_sweep(c, sweep_request(["r"], [1, 2, 16]))
    assert err.value.field == "factor"
    assert queued(c) == 0 and records(c) == 0
