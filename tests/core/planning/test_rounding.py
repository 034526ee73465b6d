"""Hand-checked scaled cases for both roundings, and the nearest mode's accuracy band."""

import math
import random

import pytest

from fastscale import zoo
from fastscale.errors import ScalingError
from fastscale.planning.planner import make_plan
from fastscale.planning.ranking import around, nearest_step, ranked_values, stepped

BASE_STRATEGIES = ["d", "w", "r", "dw", "dr", "wr", "dwr", "dWr"]


def test_pycls_efficientnet_b0_dwr_4x_by_hand():
    # f_d = 4**0.1 = 1.1487, f_w = 4**(0.8/2) = 1.7411, f_r = 4**(0.1/2) = 1.0718 (PAPER.md's rules):
    # depths round(d * 1.1487); widths round(w * 1.7411 / 8) * 8; res round(224 * 1.0718 / 4) * 4.
    p = make_plan("EfficientNet-B0", strategy="dWr", factor=4, rounding="pycls")
    assert list(p.arch.depths) == [1, 2, 2, 3, 3, 5, 1]
    assert list(p.arch.widths) == [24, 40, 72, 136, 192, 336, 560]
    assert (p.arch.stem_w, p.arch.head_w, p.resolution) == (56, 2232, 240)


def test_pycls_resnet50_width_4x_splits_dense_convs_into_groups_like_the_reference():
    # f_w = 2: widths double; group widths stay 64..512, so each bottleneck conv gets 2 groups.
    p = make_plan("ResNet-50", strategy="w", factor=4, rounding="pycls")
    assert list(p.arch.widths) == [512, 1024, 2048, 4096]
    assert list(p.arch.group_ws) == [64, 128, 256, 512]
    assert p.achieved_factor < 3.0  # the reference misses this target by about 26 %


def test_pycls_rounds_half_to_even():
    spec = {"family": "anynet", "stem_type": "simple_stem_in", "stem_w": 16, "block_type": "res_basic_block",
            "depths": [2, 2], "widths": [20, 28], "strides": [2, 2]}
    p = make_plan(spec=spec, strategy="w", factor=1, rounding="pycls")
    assert list(p.arch.widths) == [16, 32]  # 20/8 = 2.5 -> 2, 28/8 = 3.5 -> 4 (banker's rounding)


def test_pycls_regnet_expands_to_anynet_then_scales():
    p = make_plan("RegNetX-200MF", strategy="d", factor=2, rounding="pycls")
    base = zoo.get("RegNetX-200MF").spec.to_anynet()
    assert list(base.depths) == [1, 1, 4, 7] and list(base.widths) == [24, 56, 152, 368]
    assert list(p.arch.depths) == [2, 2, 8, 14] and p.arch.widths == base.widths


def test_nearest_depth_only_changes_only_depths():
    p = make_plan("EfficientNet-B0", strategy="d", factor=2)
    base = zoo.get("EfficientNet-B0").spec
    assert p.arch.widths == base.widths and p.resolution == 224 and p.arch.head_w == base.head_w
    assert abs(p.achieved_factor / 2 - 1) <= 0.02


def test_nearest_keeps_dense_convs_dense_and_hits_resnet_width_target():
    p = make_plan("ResNet-50", strategy="w", factor=4)
    assert [int(w * b) for w, b in zip(p.arch.widths, p.arch.bot_muls)] == list(p.arch.group_ws)
    assert abs(p.achieved_factor / 4 - 1) <= 0.02


def test_nearest_shape_stays_near_the_ideal():
    # dWr 4x on EfficientNet-B0: ideal depths d * 4**0.1; none may move by more than one block.
    p = make_plan("EfficientNet-B0", strategy="dWr", factor=4)
    ideal = [d * 4 ** 0.1 for d in zoo.get("EfficientNet-B0").spec.depths]
    assert all(abs(d - i) < 1 for d, i in zip(p.arch.depths, ideal))


def test_target_flops_equals_factor_times_base():
    base = zoo.get("RegNetY-400MF").spec.complexity(224)["flops"]
    a = make_plan("RegNetY-400MF", target_flops=4 * base)
    b = make_plan("RegNetY-400MF", factor=4)
    assert a.to_dict() == b.to_dict()


@pytest.mark.parametrize("name", zoo.paper_names())
def test_nearest_band_every_zoo_model(name):
    """Within 2 % for every strategy and s in 1.5..64. Pure resolution scaling cannot always get
    there (flops jump when a stride-32 map grows by a pixel; no resolution lies between): <= 4 %."""
    for strategy in BASE_STRATEGIES:
        for s in (1.5, 2, 3, 4, 8, 16, 32, 64):
            p = make_plan(name, strategy=strategy, factor=s)
            tolerance = 0.04 if strategy == "r" else 0.02
            assert abs(p.achieved_factor / s - 1) <= tolerance, (name, strategy, s, p.achieved_factor)


@pytest.mark.parametrize("kwargs,field", [
    ({"model": "ResNet-50"}, "factor"),
    ({"model": "ResNet-50", "factor": 2, "target_flops": 1e9}, "factor"),
    ({"model": "ResNet-50", "factor": 2, "rounding": "up"}, "rounding"),
    ({"model": "ResNet-50", "target_flops": -5}, "target_flops"),
    ({"model": "ResNet-50", "target_flops": 1e20}, "target_flops"),
    ({"spec": {"family": "anynet", "depths": [1], "widths": [30], "bot_muls": [1.0], "group_ws": [8]}, "factor": 2},
     "spec.group_ws[0]"),
    ({"spec": {"family": "effnet", "depths": [1, 2], "widths": [16]}, "factor": 2}, "spec.widths"),
    ({"spec": {"family": "vgg"}, "factor": 2}, "spec.family"),
    ({"spec": {"family": "anynet", "depths": [1], "widths": [8], "colour": 1}, "factor": 2}, "spec.colour"),
    ({"model": "ResNet-50", "spec": {"family": "anynet"}, "factor": 2}, "model"),
])
def test_bad_requests_name_the_field(kwargs, field):
    with pytest.raises(ScalingError) as err:
        make_plan(**kwargs)
    assert err.value.field == field


def test_nearest_step_decides_as_the_logs_do_even_at_near_ties():
    """nearest_step's product comparison agrees with the |log| ranking it stands in for."""
    def by_logs(ideal, step, lo):
        q = ideal / step
        a, b = max(lo, math.floor(q) * step), max(lo, math.ceil(q) * step)
        return b if a != b and abs(math.log(b / ideal)) < abs(math.log(a / ideal)) else a

    rng = random.Random(5)
    for i in range(30000):
        step, lo = rng.choice([1, 4, 8, 24]), rng.choice([1, 8])
        ideal = math.exp(rng.uniform(-2, 9))
        if i % 2:  # the geometric mean of two neighbours is the tie; stray a few ulps from it
            k = rng.randint(1, 400)
            ideal = math.sqrt(k * step * (k + 1) * step) * (1 + rng.uniform(-1e-12, 1e-12))
        assert nearest_step(ideal, step, lo) == by_logs(ideal, step, lo), (ideal, step, lo)


def test_stepped_ranks_as_the_sorted_window_does():
    rng = random.Random(6)
    for i in range(20000):
        step, lo, reach = rng.choice([1, 4, 8]), rng.choice([1, 8]), rng.choice([0, 0, 1, 2])
        ideal = math.exp(rng.uniform(-2, 8))
        if i % 2:  # near the tie between two neighbours, and on exact multiples
            k = rng.randint(1, 300)
            ideal = rng.choice([k * step, math.sqrt(k * step * (k + 1) * step) * (1 + rng.uniform(-1e-12, 1e-12))])
        assert stepped(ideal, step, lo, reach) == ranked_values(around(ideal, step, lo, reach), ideal), (ideal, step)
