"""fastscale.planning.block_flops: the per-spec memo of block and stage flops that every plan of a base
model shares (stage_costs), against the closed forms it memoises."""

from __future__ import annotations

import random

from fastscale.planning import block_flops

from fastscale.planning import stage_cost
from fastscale.planning.block_flops import StageCosts, stage_costs
from fastscale.planning.planner import make_plan, resolve_base


def test_plans_of_one_base_share_its_memo():
    stage_costs.cache_clear()
    first = make_plan(model="RegNetY-400MF", strategy="dWr", factor=1.77)
    memo = stage_costs(first.base.scalable)
    filled = dict(memo.stages)
    assert filled  # the plan filled the shared memo
    make_plan(model="RegNetY-400MF", strategy="dWr", factor=1.78)
    assert stage_costs(first.base.scalable) is memo and filled.items() <= memo.stages.items()
    custom = resolve_base(spec=first.base.scalable.to_dict())  # an equal spec, parsed afresh
    assert custom.scalable is not first.base.scalable and stage_costs(custom.scalable) is memo


def test_memoised_stages_are_the_closed_forms():
    spec = resolve_base("EfficientNet-B0").scalable
    memo, fresh = stage_costs(spec), StageCosts(spec)
    rng = random.Random(3)
    for _ in range(200):
        i = rng.randrange(len(spec.depths))
        res, ci, co, d = rng.choice([192, 224, 260]), rng.randint(8, 400), rng.randint(8, 400), rng.randint(1, 6)
        hs = memo.sides(res)
        want = stage_cost.mbconv_stage(ci, spec.exp_ratios[i], spec.kernels[i], spec.strides[i], spec.se_r, co, d,
                                       hs[i])[0]
        assert memo.stage(i, res, ci, co, None, d, hs) == want == fresh.stage(i, res, ci, co, None, d, hs)
        assert memo.stages[i, res, ci, co, None, d] == want


def test_a_memo_is_emptied_past_its_bound(monkeypatch):
    monkeypatch.setattr(block_flops, "MAX_ENTRIES", 5)
    spec = resolve_base("ResNet-50").scalable
    costs = StageCosts(spec)
    hs = costs.sides(224)
    g = spec.group_ws[0]
    for co in range(256, 256 * 13, 256):  # widths whose bottleneck (a quarter) its groups divide
        costs.stage(0, 224, 64, co, g, 3, hs)
        assert len(costs.stages) <= 5 and all(len(m) <= 5 for m in costs.firsts + costs.rests)
    assert costs.stage(0, 224, 64, 512, g, 3, hs) == StageCosts(spec).stage(0, 224, 64, 512, g, 3, hs)
