"""Cheap plans are computed in the API process (service.inline_plan); the rest still go to the
planning processes. Either way the answer is the same make_plan's."""

from __future__ import annotations

import pytest

from fastscale.errors import ScalingError
from service import inline_plan
from service.plan_cache import compute_plan

MEMORY = (64, "float32", False, "cuda")


@pytest.mark.parametrize("kwargs", [{"model": "ResNet-50", "strategy": "dWr", "factor": 2.5},
                                    {"model": "EfficientNet-B0", "strategy": "w", "factor": 4, "rounding": "pycls"}])
def test_an_ordinary_plan_is_answered_inline_exactly_as_a_planning_process_answers(kwargs):
    assert inline_plan.try_inline(kwargs, MEMORY) == compute_plan(kwargs, MEMORY)


def test_a_plan_past_the_inline_budget_is_handed_on_not_refused():
    # A nearest plan checks its budget as it searches: with none left it stops at once, and the
    # caller (service.plan_cache) sends it to a planning process instead of answering 422.
    assert inline_plan.try_inline({"model": "ResNet-50", "factor": 3}, MEMORY, budget_s=0) is None


def test_an_invalid_request_is_refused_inline_as_it_would_be_in_a_process():
    with pytest.raises(ScalingError) as err:
        inline_plan.try_inline({"model": "ResNet-50", "strategy": "dWr", "factor": 1e9}, None)
    assert err.value.field == "factor"


def test_one_inline_plan_at_a_time():
    with inline_plan._slot:
        assert inline_plan.try_inline({"model": "ResNet-50", "factor": 2}, None) is None
    assert inline_plan.try_inline({"model": "ResNet-50", "factor": 2}, None) is not None
