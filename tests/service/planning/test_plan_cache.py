"""Issue 13, items 13 and 2: the plan cache is keyed on the parsed, canonical request and bounded
in bytes; uncached plans run on a bounded executor (busy: 429 at once; late: 503)."""

from __future__ import annotations

import threading
import time

import pytest
import yaml

from fastscale.planning.planner import make_plan
from fastscale.errors import ScalingError
from service.errors import PlanningBusy, PlanningTimeout
from service.planning import inline as inline_plan
from service.planning.cache import Planner, compute_plan
from service.planning.executor import PlanningExecutor
from tests.service_helpers import TINY_SPEC, plan_request
from tests.load import scaled

PYCLS = {"MODEL": {"TYPE": "anynet", "NUM_CLASSES": 10},
         "ANYNET": {"STEM_TYPE": "simple_stem_in", "STEM_W": 8, "BLOCK_TYPE": "res_bottleneck_block",
                    "DEPTHS": [1, 1], "WIDTHS": [16, 32], "STRIDES": [2, 2], "BOT_MULS": [1.0, 1.0],
                    "GROUP_WS": [8, 8]},
         "TRAIN": {"IM_SIZE": 64}}


@pytest.mark.parametrize("kw", [dict(model="ResNet-50"), dict(spec=TINY_SPEC), dict(spec=PYCLS),
                                dict(spec=yaml.safe_dump({**PYCLS, "DESC": "a note"}))])
def test_the_cached_plan_is_the_cores_plan(planner, kw):
    expected = make_plan(**plan_request(**kw)).to_dict()
    assert planner.plan(plan_request(**kw)) == expected
    assert planner.plan(plan_request(**kw)) == expected  # from the cache, the request's own config attached


def test_requests_that_parse_alike_share_one_entry(planner):
    for kw in (dict(model="ResNet-50"), dict(model="resnet-50"), dict(model="ResNet-50", resolution=224),
               dict(model="ResNet-50", strategy="dWr", alpha=0.8)):
        planner.plan(plan_request(**kw))
    notes = [f"note {i} " + "x" * 50_000 for i in range(30)]
    answers = [planner.plan(plan_request(spec={**PYCLS, "DESC": note})) for note in notes]
    assert planner.cache.stats()["entries"] == 2
    assert planner.cache.stats()["bytes"] < 20_000  # the ignored 50 KB notes are not cached
    assert [a["base"]["pycls_config"]["DESC"] for a in answers] == notes  # each answer its own config


def test_the_cache_stays_within_its_bytes():
    p = Planner(workers=1, backlog=0, timeout_s=30, cache_bytes=5_000)
    sizes = []
    for factor in (1.5, 2, 2.5, 3, 4, 5, 6, 8, 10, 12, 16, 20):
        p.plan(plan_request(model="RegNetY-400MF", factor=factor))
        sizes.append(p.cache.stats()["bytes"])
    assert max(sizes) <= 5_000 and 2 <= p.cache.stats()["entries"] < 12
    p.executor.shutdown()


def test_refusals_are_cached_too(planner):
    bad = plan_request(spec={**TINY_SPEC, "widths": [16, 33]}, factor=2)
    for _ in range(2):
        with pytest.raises(Exception) as err:
            planner.plan(bad)
        assert "widths" in str(err.value) or "group" in str(err.value)


def test_the_executor_refuses_at_once_when_every_slot_is_taken():
    executor = PlanningExecutor(workers=1, backlog=1, timeout_s=10)
    held = [executor.submit(time.sleep, 1.0) for _ in range(2)]
    started = time.perf_counter()
    with pytest.raises(PlanningBusy) as err:
        executor.submit(time.sleep, 1.0)
    assert time.perf_counter() - started < 0.1 and err.value.status == 429 and err.value.headers()["Retry-After"]
    with pytest.raises(PlanningBusy):
        executor.run(sum, [1])
    for future in held:
        future.result(10)
    assert executor.run(sum, [1, 2]) == 3  # every slot came back
    executor.shutdown()


def test_a_plan_past_the_timeout_is_a_503_and_its_process_is_replaced():
    executor = PlanningExecutor(workers=1, backlog=0, timeout_s=1.0)
    executor.run(sum, [1])  # the planning process is up
    started = time.perf_counter()
    with pytest.raises(PlanningTimeout) as err:
        executor.run(time.sleep, 600)  # a plan that would never end
    assert err.value.status == 503 and time.perf_counter() - started < 3
    first = executor.processes[0]
    deadline = time.monotonic() + scaled(5)
    while first.proc is not None and time.monotonic() < deadline:  # killed, not left running
        time.sleep(0.05)
    assert first.proc is None
    assert executor.run(sum, [1, 2]) == 3  # a fresh process took its place
    executor.shutdown()


def test_core_refusals_cross_the_process_boundary_intact(planner):
    with pytest.raises(ScalingError) as err:
        planner.executor.run(compute_plan, plan_request(model="ResNet-51"))
    assert err.value.field == "model" and "ResNet-51" in err.value.message


def _eight_at_once(planner, kwargs: dict) -> None:
    threads = [threading.Thread(target=planner.plan, args=(kwargs,)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


@pytest.mark.parametrize("inline", [True, False], ids=["inline", "planning-process"])
def test_identical_plans_in_flight_are_computed_once(planner, monkeypatch, inline):
    """Eight callers of one uncached plan: one computation, whether it runs inline (a cheap plan)
    or in a planning process (the inline slot held, as while another plan runs inline)."""
    computed, submitted = [], []
    original_make, original_submit = inline_plan.make_plan, planner.executor.submit

    def counted_make(**kwargs):
        computed.append(kwargs["factor"])
        return original_make(**kwargs)

    def counted_submit(fn, *args):
        submitted.append(fn.__name__)
        return original_submit(fn, *args)

    monkeypatch.setattr(inline_plan, "make_plan", counted_make)
    monkeypatch.setattr(planner.executor, "submit", counted_submit)
    if inline:
        _eight_at_once(planner, plan_request(model="ResNet-101", factor=3))
        assert computed == [3] and submitted == []
    else:
        with inline_plan._slot:
            _eight_at_once(planner, plan_request(model="ResNet-101", factor=3.5))
        assert computed == [] and submitted == ["compute_plan"]
