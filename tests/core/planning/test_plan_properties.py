"""Property tests: flops grow with s, nearest hits its band, plans round-trip through JSON."""

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from fastscale import zoo
from fastscale.planning.planner import Plan, make_plan

models = st.sampled_from(zoo.paper_names())  # ConvNeXt, ViT: tests/core/families
strategies = st.sampled_from(["d", "w", "dw", "dr", "wr", "dwr", "dWr", "d1_w8_g8_r1"])
factors = st.floats(1.5, 64)


@settings(max_examples=40, deadline=None)
@given(models, strategies, factors, st.floats(1.2, 4))
def test_flops_grow_with_s(model, strategy, s, ratio):
    small = make_plan(model, strategy=strategy, factor=s / ratio)
    large = make_plan(model, strategy=strategy, factor=s)
    assert large.complexity["flops"] > small.complexity["flops"]


@settings(max_examples=40, deadline=None)
@given(models, strategies, factors)
def test_nearest_hits_the_target_band(model, strategy, s):
    plan = make_plan(model, strategy=strategy, factor=s)
    assert abs(plan.achieved_factor / s - 1) <= 0.02


@settings(max_examples=30, deadline=None)
@given(models, strategies, st.floats(1 / 8, 64), st.sampled_from(["nearest", "pycls"]), st.floats(0, 1))
def test_plan_json_round_trips(model, strategy, s, rounding, alpha):
    kwargs = {"alpha": alpha} if strategy == "dWr" else {}
    plan = make_plan(model, strategy=strategy, factor=s, rounding=rounding, **kwargs)
    data = json.loads(json.dumps(plan.to_dict()))
    again = Plan.from_dict(data)
    assert again == plan and again.to_dict() == data
    e = data["strategy"]["exponents"]
    assert abs(e["d"] + e["w"] + e["r"] - 1) < 1e-12
