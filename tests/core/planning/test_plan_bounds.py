"""Bounded work and bounded output per plan (issue 13, items 2, 3 and 12, core side).

Planning work: the issue's specs that took 46.6 s and ~10 min now plan inside the default CPU
budget, and a budget that runs out is a ScalingError, not a busy thread. Planning output: total
blocks are capped at validation, every plan of a zoo model up to x1024 reads back, plans that
would leave the bounds are refused naming the factor, and strategies cannot overflow.
"""

import json
import time

import pytest

from fastscale import zoo
from fastscale.planning.budget import Budget, PlanBudgetExceeded
from fastscale.errors import ScalingError
from fastscale.families import spec_from_dict
from fastscale.families._fields import MAX_BLOCKS
from fastscale.planning.planner import Plan, make_plan

ISSUE_ANYNET = {"family": "anynet", "depths": [1] * 16, "widths": [262144] * 16, "group_ws": [8192] * 16,
                "bot_muls": [0.0625] * 16}
# An 87-byte RegNet whose group width snaps widths to multiples of 65536: each of calibration's
# steps walked a window of 16,386 widths one by one (2.2 to 2.9 s per plan before, 2-40 ms now).
HUGE_WINDOW_REGNET = {"family": "regnet", "depth": 16, "w0": 262144, "wa": 0, "wm": 2, "group_w": 16384,
                      "bot_mul": 0.25}


@pytest.mark.parametrize("spec", [ISSUE_ANYNET, HUGE_WINDOW_REGNET])
@pytest.mark.parametrize("strategy,factor", [("dWr", 0.5), ("w", 0.25), ("d1_w8_g8_r1", 1 / 16)])
def test_the_issues_slow_specs_plan_within_the_default_budget(spec, strategy, factor):
    plan = make_plan(spec=spec, strategy=strategy, factor=factor)  # default budget: 1 s of CPU
    assert plan.rounding == "nearest" and Plan.from_dict(json.loads(json.dumps(plan.to_dict()))) == plan


def test_a_spent_budget_is_a_scaling_error():
    with pytest.raises(ScalingError) as err:
        make_plan(spec=ISSUE_ANYNET, strategy="dWr", factor=0.5, budget_s=0)
    assert err.value.field == "spec" and "planning budget" in err.value.message
    with pytest.raises(ScalingError) as err:
        make_plan("ResNet-50", factor=2, budget_s=0)
    assert err.value.field == "factor"


def test_total_blocks_are_capped_at_validation():
    many = {"family": "anynet", "depths": [16385] * 16, "widths": [1] * 16, "block_type": "res_basic_block"}
    with pytest.raises(ScalingError) as err:  # the issue's 262,152 blocks of width 1
        spec_from_dict(many)
    assert err.value.field == "spec.depths" and "blocks" in err.value.message
    for family, extra in [("effnet", {}), ("anynet", {"block_type": "vanilla_block"})]:
        spec = {"family": family, "depths": [MAX_BLOCKS // 2, MAX_BLOCKS // 2 + 1], "widths": [8, 8], **extra}
        with pytest.raises(ScalingError):
            spec_from_dict(spec)
    with pytest.raises(ScalingError) as err:
        spec_from_dict({"family": "regnet", "depth": MAX_BLOCKS + 1, "w0": 8, "wa": 8, "wm": 2, "group_w": 8})
    assert err.value.field == "spec.depth"


def test_specs_report_their_total_blocks():
    assert zoo.get("ResNet-50").spec.total_blocks == 3 + 4 + 6 + 3
    regnet = zoo.get("RegNetX-200MF").spec
    assert regnet.total_blocks == regnet.depth == sum(regnet.to_anynet().depths) == 13
    assert zoo.get("EfficientNet-B0").spec.total_blocks == 16


@pytest.mark.parametrize("rounding", ["nearest", "pycls"])
def test_every_zoo_plan_up_to_x1024_reads_back(rounding):
    """Plan.from_dict re-validates plans: the bounds must admit the scaler's own largest plans."""
    for name in zoo.paper_names():
        for strategy in ("d", "w", "dWr", "d1_w8_g8_r1"):
            plan = make_plan(name, strategy=strategy, factor=1024, rounding=rounding)
            assert plan.arch.total_blocks <= MAX_BLOCKS
            assert Plan.from_dict(json.loads(json.dumps(plan.to_dict()))) == plan


def test_plans_past_the_bounds_are_refused_naming_the_factor():
    wide = {"family": "anynet", "depths": [1, 1], "widths": [200000, 200000], "block_type": "res_basic_block"}
    deep = {"family": "anynet", "depths": [60000], "widths": [8], "block_type": "res_basic_block"}
    for spec, strategy in [(wide, "w"), (deep, "d")]:
        for rounding in ("nearest", "pycls"):
            with pytest.raises(ScalingError) as err:
                make_plan(spec=spec, strategy=strategy, factor=4, rounding=rounding)
            assert err.value.field == "factor"


def test_the_reference_rounding_refuses_what_it_cannot_build():
    # pycls rounding made this stage's group width exceed its bottleneck width: a 500 before.
    spec = {"family": "anynet", "depths": [1], "widths": [70], "bot_muls": [2.5], "group_ws": [175]}
    with pytest.raises(ScalingError) as err:
        make_plan(spec=spec, strategy="d1_w1_g3_r1", factor=0.3, rounding="pycls")
    assert err.value.field == "rounding"
    assert make_plan(spec=spec, strategy="d1_w1_g3_r1", factor=0.3).rounding == "nearest"


@pytest.mark.parametrize("strategy", ["r1_g999999999", "d1_g5000", "d1_w1_r1_g3.5", "d" + "9" * 400])
def test_strategies_that_would_overflow_are_refused(strategy):
    with pytest.raises(ScalingError) as err:  # OverflowError (a 500) before
        make_plan("ResNet-50", strategy=strategy, factor=2)
    assert err.value.field == "strategy" and len(err.value.message) < 200


def test_a_group_weight_up_to_the_others_is_fine():
    assert make_plan("ResNet-50", strategy="d1_w1_r1_g3", factor=2).strategy.exponents["g"] == 1.0


@pytest.mark.parametrize("path,value,field", [
    (("resolution",), "abc", "plan.resolution"), (("resolution",), [1], "plan.resolution"),
    (("resolution",), 10**9, "plan.resolution"), (("base", "resolution"), -8, "plan.base.resolution"),
    (("requested_factor",), float("inf"), "plan.requested_factor"), (("rounding",), "up", "plan.rounding"),
    (("strategy", "weights", "g"), 1e9, "plan.strategy"), (("strategy", "weights", "d"), float("nan"), "plan.strategy"),
    (("strategy", "weights", "w"), "8", "plan.strategy"), (("base",), None, "plan"),
])
def test_tampered_plans_are_scaling_errors(path, value, field):
    data = json.loads(json.dumps(make_plan("RegNetX-200MF", factor=2).to_dict()))
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(ScalingError) as err:
        Plan.from_dict(data)
    assert err.value.field == field


def test_a_budget_reads_its_clock_every_n_steps_and_a_wall_budget_at_every_step():
    reads = []

    def clock():  # a clock that has run past any deadline from its fourth read on
        reads.append(len(reads))
        return 0.0 if len(reads) <= 3 else 100.0

    sparse = Budget(1.0, "spec", clock, every=64)
    for _ in range(128):  # reads on steps 1 and 65 only: still inside the budget
        sparse.check()
    assert len(reads) == 3  # the deadline's own read, then two
    with pytest.raises(PlanBudgetExceeded):
        for _ in range(64):
            sparse.check()  # step 129 reads a clock past the deadline
    assert Budget.wall(1.0).every == 1 and Budget.wall(1.0).clock is time.perf_counter
