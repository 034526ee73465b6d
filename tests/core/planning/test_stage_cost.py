"""The closed forms of fastscale.planning.stage_cost against the layer vocabulary's own complexity().

Random stages of every block type (SE on and off, odd widths and map sizes, strides 1 and 2,
grouped and dense convs, MBConv with and without expansion), as Python ints and as numpy arrays.
"""

import random

import numpy as np
import pytest

from fastscale.planning import stage_cost
from fastscale.layers.cx import Cx
from fastscale.families.anynet import BLOCKS, STEMS, block, head, stem
from fastscale.families.effnet import mbconv
from fastscale.layers import Act, Conv, Norm, Repeat, Seq


def layer_cost(nodes, size):
    cx = Cx(size, size)
    Seq(tuple(nodes)).complexity(cx)
    return (cx.flops, cx.params, cx.acts), cx.h


def random_anynet_stage(rng):
    kind = rng.choice(BLOCKS)
    co = rng.randint(1, 700)
    b = rng.choice([0.0625, 0.25, 0.3, 0.5, 1.0, 1.5, 2.0, 4.0])
    while int(round(co * b)) < 1:
        co += 1
    w_b = int(round(co * b))
    g = rng.choice([d for d in range(1, w_b + 1) if w_b % d == 0])
    return dict(kind=kind, ci=rng.randint(1, 700), co=co, stride=rng.choice([1, 2]), d=rng.randint(1, 9),
                bot_mul=b, group_w=g, se_r=rng.choice([0.0, 0.25, 0.1, 1.0]), h=rng.randint(1, 131))


def anynet_layers(p):
    first = block(p["kind"], p["ci"], p["co"], p["stride"], p["bot_mul"], p["group_w"], p["se_r"], "relu")
    rest = block(p["kind"], p["co"], p["co"], 1, p["bot_mul"], p["group_w"], p["se_r"], "relu")
    return [first, Repeat(rest, p["d"] - 1)]


def test_anynet_stages_match_the_layers():
    rng = random.Random(7)
    for _ in range(600):
        p = random_anynet_stage(rng)
        want, h_out = layer_cost(anynet_layers(p), p["h"])
        assert stage_cost.anynet_stage(**p) == want, p
        assert stage_cost.out_size(p["h"], p["stride"]) == h_out


def test_mbconv_stages_match_the_layers():
    rng = random.Random(8)
    for _ in range(400):
        ci, co, e, k = rng.randint(1, 500), rng.randint(1, 500), rng.choice([1, 2, 3, 4, 6]), rng.choice([1, 3, 5, 7])
        s, se_r, d, h = rng.choice([1, 2]), rng.choice([0.0, 0.25, 0.05]), rng.randint(1, 6), rng.randint(1, 131)
        nodes = [mbconv(ci, e, k, s, se_r, co, "silu"), Repeat(mbconv(co, e, k, 1, se_r, co, "silu"), d - 1)]
        want, _ = layer_cost(nodes, h)
        assert stage_cost.mbconv_stage(ci, e, k, s, se_r, co, d, h) == want


@pytest.mark.parametrize("stem_type", STEMS)
def test_stems_match_the_layers(stem_type):
    for w, r in [(1, 16), (32, 224), (17, 97), (64, 33), (8, 8)]:
        want, h_out = layer_cost([stem(stem_type, w, "relu")], r)
        assert stage_cost.stem(stem_type, w, r) == (*want, h_out)


def test_effnet_stem_is_the_simple_stem():
    want, h_out = layer_cost([Conv(3, 40, 3, 2), Norm(40), Act("silu")], 229)
    assert stage_cost.stem("simple_stem_in", 40, 229) == (*want, h_out)


def test_heads_match_the_layers():
    for ci, hw, nc, h in [(320, 1280, 1000, 7), (2048, 0, 1000, 7), (5, 3, 10, 1), (64, 0, 7, 3)]:
        want, _ = layer_cost([head(ci, hw, nc, "relu")], h)
        assert stage_cost.head(ci, hw, nc, h) == want


def test_arrays_agree_with_ints_element_by_element():
    rng = random.Random(9)
    params = [random_anynet_stage(rng) for _ in range(300)]
    for kind in BLOCKS:
        rows = [p for p in params if p["kind"] == kind]
        cols = {k: np.array([p[k] for p in rows]) for k in ("ci", "co", "stride", "d", "bot_mul", "group_w", "h")}
        for se_r in (0.0, 0.25):
            got = stage_cost.anynet_stage(kind, se_r=se_r, **cols)
            for i, p in enumerate(rows):
                want = stage_cost.anynet_stage(**{**p, "se_r": se_r})
                assert tuple(int(g[i]) for g in got) == want
    ci, co = np.arange(1, 200), np.arange(199, 0, -1)
    got = stage_cost.mbconv_stage(ci, 6, 5, 2, 0.25, co, 3, 57)
    assert [int(x) for x in got[0]] == [stage_cost.mbconv_stage(int(a), 6, 5, 2, 0.25, int(b), 3, 57)[0]
                                        for a, b in zip(ci, co)]


def test_spec_complexity_is_the_layer_walk_on_random_specs():
    """The specs' complexity() (closed forms) equals walking their network() of layers."""
    from tests.core.planning import golden_grid
    from fastscale.planning.planner import resolve_base

    rng = random.Random(10)
    for _ in range(120):
        try:
            base = resolve_base(spec=golden_grid.random_spec(rng))
        except ValueError:
            continue
        for r in (16, 57, 224):
            cx = Cx(r, r)
            base.spec.network().complexity(cx)
            assert base.spec.complexity(r) == cx.totals()


def test_flops_only_forms_match_the_full_ones():
    rng = random.Random(11)
    for _ in range(400):
        p = random_anynet_stage(rng)
        ho = stage_cost.out_size(p["h"], p["stride"])
        args = (p["kind"], p["ci"], p["co"], p["stride"], p["bot_mul"], p["group_w"], p["se_r"], p["h"])
        assert stage_cost.anynet_block_flops(*args) == stage_cost.anynet_block(*args)[0]
        rest = (p["kind"], p["co"], p["co"], 1, p["bot_mul"], p["group_w"], p["se_r"], ho)
        assert stage_cost.anynet_block_flops(*rest) == stage_cost.anynet_block(*rest)[0]
        m = (p["ci"], rng.choice([1, 3, 6]), rng.choice([3, 5, 7]), p["stride"], p["se_r"] / 4, p["co"], p["h"])
        assert stage_cost.mbconv_block_flops(*m) == stage_cost.mbconv_block(*m)[0]
    for stem_type in STEMS:
        assert stage_cost.stem_flops(stem_type, 24, 97) == stage_cost.stem(stem_type, 24, 97)[0]
    assert stage_cost.head_flops(320, 1280, 1000, 7) == stage_cost.head(320, 1280, 1000, 7)[0]
    assert stage_cost.head_flops(320, 0, 10, 3) == stage_cost.head(320, 0, 10, 3)[0]


def test_scalar_fast_forms_match_the_array_forms():
    """The planner's int-only block functions give the flops-only forms' figures exactly."""
    rng = random.Random(12)
    for _ in range(600):
        p = random_anynet_stage(rng)
        fast = stage_cost.anynet_block_flops_fn(p["kind"], p["stride"], p["bot_mul"], p["se_r"])
        args = (p["kind"], p["ci"], p["co"], p["stride"], p["bot_mul"], p["group_w"], p["se_r"], p["h"])
        assert fast(p["ci"], p["co"], p["group_w"], p["h"]) == stage_cost.anynet_block_flops(*args), p
        e, k, se_r = rng.choice([1, 3, 6, 2.5]), rng.choice([3, 5, 7]), rng.choice([0.0, p["se_r"] / 4])
        m = (p["ci"], e, k, p["stride"], se_r, p["co"], p["h"])
        assert stage_cost.mbconv_block_flops_fn(e, k, p["stride"], se_r)(p["ci"], p["co"], None, p["h"]) == \
            stage_cost.mbconv_block_flops(*m), m
