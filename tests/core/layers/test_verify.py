"""Counting the built module on the meta device agrees exactly with the analytic figures."""

import pytest
import torch

from fastscale import zoo
from fastscale.build.builder import build_plan
from fastscale.planning.planner import make_plan
from fastscale.build.verify import count, verify, verify_plan

STRATEGIES = ["d", "w", "r", "dw", "dr", "wr", "dwr", "dWr", "d1_w8_g8_r1"]


@pytest.mark.parametrize("name", zoo.names())
def test_every_zoo_model_counts_as_analysed(name):
    m = zoo.get(name)
    v = verify(m.spec, m.resolution)
    assert v.counted == v.analytic, name


@pytest.mark.parametrize("rounding", ["nearest", "pycls"])
@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("model", ["EfficientNet-B0", "RegNetY-400MF", "ResNeXt-50"])
def test_scaled_models_of_every_strategy_count_as_analysed(model, strategy, rounding):
    plan = make_plan(model, strategy=strategy, factor=3, rounding=rounding)
    v = verify_plan(plan)
    assert v.counted == v.analytic


def test_counter_detects_a_wrong_analytic_figure():
    """The verifier is independent: a spec whose analytic formula is off must not pass."""
    m = zoo.get("ResNet-50")
    counted = count(m.spec, m.resolution)
    assert counted["acts"] == m.spec.complexity(m.resolution)["acts"]
    assert count(m.spec, m.resolution + 32) != counted


def test_built_model_runs_forward_and_backward_on_cpu():
    plan = make_plan("RegNetY-400MF", strategy="dWr", factor=1 / 8)
    model = build_plan(plan)
    x = torch.randn(2, 3, plan.resolution, plan.resolution)
    out = model(x)
    assert out.shape == (2, 1000)
    out.logsumexp(1).mean().backward()
    assert all(p.grad is not None for p in model.parameters())
