"""Plans awaited on the event loop (what every API route does): a zoo model's is computed on the
loop itself while the loop gate is open (service.planning.inline); a shut gate, a custom spec or a
plan past the loop's budget goes on to a thread or a planning process. The answer is the same."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
import yaml

from fastscale.planning.planner import make_plan
from service.planning import inline as inline_plan
from tests.service_helpers import TINY_SPEC, plan_request

MEMORY = (64, "float32", False, "cuda")


@pytest.fixture
def where(monkeypatch):
    """The thread each plan was computed on, in order (the loop's is asyncio's running thread).
    Where a plan goes is under test here, not the loop's 5 ms budget (tests/service/
    test_inline_plan.py has its own): on a loaded CI machine a first plan can take longer."""
    threads: list[str] = []
    original = inline_plan.make_plan

    def recorded(**kwargs):
        threads.append(threading.current_thread().name)
        return original(**kwargs)

    monkeypatch.setattr(inline_plan, "make_plan", recorded)
    monkeypatch.setattr(inline_plan, "_gate", inline_plan.LoopGate())
    monkeypatch.setattr(inline_plan, "LOOP_BUDGET_S", 1.0)
    return threads


def test_a_cheap_plan_is_computed_on_the_loop_and_answers_as_the_core(planner, where):
    async def ask():
        return await planner.aplan_memory(plan_request(model="EfficientNet-B0", factor=1.9), MEMORY)

    plan, memory = asyncio.run(ask())
    assert where == [threading.current_thread().name]  # asyncio.run's loop runs on this thread
    assert plan == make_plan(**plan_request(model="EfficientNet-B0", factor=1.9)).to_dict()
    assert memory["batch_size"] == 64 and memory["training"]["predicted_bytes"] > 0


def test_a_shut_gate_sends_the_plan_to_a_thread(planner, where):
    inline_plan._gate.open_at = time.perf_counter() + 60
    plan = asyncio.run(planner.aplan(plan_request(model="ResNet-50", factor=2.2)))
    assert len(where) == 1 and where[0] != threading.current_thread().name
    assert plan == make_plan(**plan_request(model="ResNet-50", factor=2.2)).to_dict()


def test_a_custom_spec_is_never_planned_on_the_loop(planner, where):
    config = {"MODEL": {"TYPE": "anynet", "NUM_CLASSES": 10},
              "ANYNET": {"STEM_TYPE": "simple_stem_in", "STEM_W": 8, "BLOCK_TYPE": "res_bottleneck_block",
                         "DEPTHS": [1, 1], "WIDTHS": [16, 32], "STRIDES": [2, 2], "BOT_MULS": [1.0, 1.0],
                         "GROUP_WS": [8, 8]}}
    for spec in (TINY_SPEC, config, yaml.safe_dump(config)):
        asyncio.run(planner.aplan(plan_request(spec=spec, factor=2.5)))
    assert threading.current_thread().name not in where  # a thread's attempts, or a planning process's


def test_a_burst_shares_the_loop_with_threads(planner, where):
    """Twelve distinct plans at once: the gate shuts after each plan on the loop, so the ones that
    find it shut go to a thread and the loop is free between them."""
    async def burst():
        return await asyncio.gather(*(planner.aplan(plan_request(model="RegNetX-200MF", factor=2 + i / 10))
                                      for i in range(12)))

    plans = asyncio.run(burst())
    loop = threading.current_thread().name
    assert 1 <= where.count(loop) < 12
    assert [p["requested_factor"] for p in plans] == [2 + i / 10 for i in range(12)]
