"""The bulk search against the one-by-one search it replaced (tests/core/planning/reference_rounding.py).

The golden record freezes whole plans of the zoo and of 150 random specs; these tests compare
the parts on inputs drawn afresh: every knob list (reach 0, 1, 2) at random ideals, calibration's
nearest flops at random factors, and whole nearest roundings of random custom specs, including
the paths the zoo never takes (group widths scaled, bottleneck multipliers > 1 or odd).
"""

import math
import random

import pytest

from fastscale.planning import calibration

from fastscale.planning import rounding
from fastscale.planning.budget import Budget
from fastscale.planning.candidates import knobs
from fastscale.errors import ScalingError
from fastscale.planning.planner import make_strategy, resolve_base
from tests.core.planning import golden_grid
from tests.core.planning import reference_rounding as reference

STRATEGIES = ["dWr", "dwr", "w", "d1_w8_g8_r1", "d1_w1_g3_r1", "w1_g1", "r", "dr"]


def odd_spec(rng: random.Random) -> dict:
    """Small AnyNets with the multipliers and group widths the zoo does not have."""
    n = rng.randint(1, 4)
    widths = [rng.randint(4, 600) for _ in range(n)]
    muls = [rng.choice([0.0625, 0.3, 0.7, 1.0, 1.01, 1.5, 2.5, 7.9]) for _ in range(n)]
    groups = []
    for w, b in zip(widths, muls):
        w_b = max(1, int(round(w * b)))
        groups.append(rng.choice([d for d in range(1, w_b + 1) if w_b % d == 0][-5:]))
    return {"family": "anynet", "depths": [rng.randint(1, 5) for _ in range(n)], "widths": widths,
            "bot_muls": muls, "group_ws": groups, "strides": [rng.choice([1, 2]) for _ in range(n)],
            "block_type": rng.choice(["res_bottleneck_block", "res_bottleneck_linear_block"])}


def bases(seed: int, count: int):
    rng = random.Random(seed)
    out = []
    while len(out) < count:
        spec = odd_spec(rng) if rng.random() < 0.5 else golden_grid.random_spec(rng)
        try:
            out.append((rng, resolve_base(spec=spec)))
        except ScalingError:
            continue
    return out


@pytest.mark.parametrize("seed", [1, 2])
def test_knob_lists_are_the_one_by_one_lists(seed):
    for rng, base in bases(seed, 40):
        spec = base.scalable
        for name in STRATEGIES:
            strat = make_strategy(name)
            f = strat.factors(math.exp(rng.uniform(-3, 7)))
            for reach in (0, 1, 2):
                want = reference._knobs(spec, base.resolution, f, strat.exponents, reach)
                if any(not cands for _, _, cands in want):  # the old search then crashed (IndexError)
                    with pytest.raises(ScalingError):
                        knobs(spec, base.resolution, f, strat.exponents, reach)
                    continue
                assert knobs(spec, base.resolution, f, strat.exponents, reach) == want, (spec, name, reach)


def test_calibration_sees_the_same_flops():
    for rng, base in bases(3, 30):
        spec, res = base.scalable, base.resolution
        for name in STRATEGIES[:4]:
            strat = make_strategy(name)
            nearest = calibration.NearestFlops(spec, res, strat.factors, strat.exponents, Budget(None))
            for x in sorted(math.exp(rng.uniform(-3, 6)) for _ in range(12)):
                k = reference._knobs(spec, res, strat.factors(x), strat.exponents)
                if any(not cands for _, _, cands in k):  # the old search crashed here (IndexError)
                    with pytest.raises(ScalingError):
                        nearest(x)
                    continue
                arch, r = reference._materialise(spec, res, k, [0] * len(k))
                assert nearest(x) == arch.complexity(r)["flops"], (spec, name, x)


def test_whole_nearest_roundings_match():
    for rng, base in bases(4, 25):
        spec, res = base.scalable, base.resolution
        base_flops = spec.complexity(res)["flops"]
        for name in rng.sample(STRATEGIES, 3):
            strat, s = make_strategy(name), rng.choice([0.3, 1.7, 6.0])
            target = s * base_flops
            try:
                f = reference.calibrate(spec, res, strat.factors, strat.exponents, s, target)
                want = reference.round_nearest(spec, res, f, strat.exponents, target)
            except (IndexError, ZeroDivisionError):  # the old code's crashes on unbuildable candidates
                continue
            assert rounding.calibrate(spec, res, strat.factors, strat.exponents, s, target) == f
            assert rounding.round_nearest(spec, res, f, strat.exponents, target) == want, (spec, name, s)
