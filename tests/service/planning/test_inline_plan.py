"""Cheap plans are computed in the API process (service.planning.inline); the rest still go to the
planning processes. Either way the answer is the same make_plan's."""

from __future__ import annotations

import time

import pytest

from fastscale.errors import ScalingError
from service.planning import inline as inline_plan
from service.planning.cache import compute_plan
from tests.service_helpers import TINY_SPEC

MEMORY = (64, "float32", False, "cuda")


@pytest.mark.parametrize("kwargs", [{"model": "ResNet-50", "strategy": "dWr", "factor": 2.5},
                                    {"model": "EfficientNet-B0", "strategy": "w", "factor": 4, "rounding": "pycls"}])
def test_an_ordinary_plan_is_answered_inline_exactly_as_a_planning_process_answers(kwargs):
    assert inline_plan.try_inline(kwargs, MEMORY) == compute_plan(kwargs, MEMORY)


def test_a_plan_past_the_inline_budget_is_handed_on_not_refused():
    # A nearest plan checks its budget as it searches: with none left it stops at once, and the
    # caller (service.planning.cache) sends it to a planning process instead of answering 422.
    assert inline_plan.try_inline({"model": "ResNet-50", "factor": 3}, MEMORY, budget_s=0) is None


def test_an_invalid_request_is_refused_inline_as_it_would_be_in_a_process():
    with pytest.raises(ScalingError) as err:
        inline_plan.try_inline({"model": "ResNet-50", "strategy": "dWr", "factor": 1e9}, None)
    assert err.value.field == "factor"


def test_one_inline_plan_at_a_time():
    with inline_plan._slot:
        assert inline_plan.try_inline({"model": "ResNet-50", "factor": 2}, None) is None
    assert inline_plan.try_inline({"model": "ResNet-50", "factor": 2}, None) is not None


def test_a_cheap_plan_on_the_loop_is_the_planning_process_answer():
    kwargs = {"model": "RegNetY-400MF", "strategy": "dWr", "factor": 1.7}
    # a budget no loaded CI machine runs past: the answer, not the budget, is under test here
    answer = inline_plan.try_on_loop(kwargs, MEMORY, gate=inline_plan.LoopGate(), budget_s=1.0)
    assert answer == compute_plan(kwargs, MEMORY)


def test_the_loop_gate_keeps_planning_to_its_share_of_the_loop():
    gate = inline_plan.LoopGate(share=0.75)
    assert gate.is_open()
    now = time.perf_counter()
    gate.spent(now - 0.3, now)  # a 0.3 s plan: shut for 0.1 s more, so planning took 75 % of 0.4 s
    assert not gate.is_open()
    assert gate.open_at == pytest.approx(now + 0.1)
    gate.spent(now - 10, now - 9)
    assert gate.is_open()


def test_a_shut_gate_or_a_spent_budget_passes_the_plan_on():
    kwargs = {"model": "ResNet-50", "factor": 3}
    shut = inline_plan.LoopGate()
    shut.open_at = time.perf_counter() + 60
    assert inline_plan.try_on_loop(kwargs, MEMORY, gate=shut) is None
    gate = inline_plan.LoopGate()
    assert inline_plan.try_on_loop(kwargs, MEMORY, gate=gate, budget_s=0) is None
    assert not gate.is_open()  # the attempt's time counts against the loop's share all the same


def test_the_loop_budget_is_wall_time_checked_at_every_step():
    gate = inline_plan.LoopGate()
    assert inline_plan.try_on_loop({"model": "ResNet-50", "factor": 3}, None, gate=gate, budget_s=1e-4) is None
    assert gate.open_at - time.perf_counter() < 0.01  # stopped within a step or two of 0.1 ms


def test_a_custom_spec_is_not_tried_on_the_loop():
    assert inline_plan.try_on_loop({"spec": TINY_SPEC, "factor": 2}, None, gate=inline_plan.LoopGate()) is None


def test_an_invalid_request_is_refused_on_the_loop_too():
    with pytest.raises(ScalingError) as err:
        inline_plan.try_on_loop({"model": "ResNet-50", "factor": -1}, None, gate=inline_plan.LoopGate())
    assert err.value.field == "factor"
