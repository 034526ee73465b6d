"""Strategies: names, alpha, weight strings and exponents, and errors that say what is allowed."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fastscale import strategies as S
from fastscale.errors import ScalingError


@pytest.mark.parametrize("name,expected", [
    ("d", (1, 0, 0)), ("w", (0, 1, 0)), ("r", (0, 0, 1)), ("dw", (0.5, 0.5, 0)), ("dr", (0.5, 0, 0.5)),
    ("wr", (0, 0.5, 0.5)), ("dwr", (1 / 3, 1 / 3, 1 / 3)), ("dWr", (0.1, 0.8, 0.1)),
])
def test_named_strategy_exponents(name, expected):
    e = S.parse(name).exponents
    assert (e["d"], e["w"], e["r"]) == pytest.approx(expected)
    assert e["g"] == 0


def test_dwr_with_alpha_point_eight_is_the_reference_d1_w8_r1_bit_for_bit():
    for s in (1.5, 2, 4, 16, 64):
        assert S.parse("dWr", 0.8).factors(s) == S.parse("d1_w8_r1").factors(s)


def test_g_weight_scales_group_width_like_width():
    f = S.parse("d1_w8_g8_r1").factors(16)
    assert f["g"] == f["w"] and f["w"] == pytest.approx(16 ** 0.4)


def test_alpha_one_is_width_and_one_third_is_dwr():
    assert S.parse("dWr", 1.0).exponents == pytest.approx(S.parse("w").exponents)
    assert S.parse("dWr", 1 / 3).exponents == pytest.approx(S.parse("dwr").exponents)


@pytest.mark.parametrize("name,alpha,field", [
    ("dWr", 1.5, "alpha"), ("dWr", -0.1, "alpha"), ("dWr", float("nan"), "alpha"), ("dw", 0.5, "alpha"),
    ("x", None, "strategy"), ("d1_d2", None, "strategy"), ("g1", None, "strategy"), ("", None, "strategy"),
    ("d1_w", None, "strategy"),
])
def test_bad_strategies_name_the_field(name, alpha, field):
    with pytest.raises(ScalingError) as err:
        S.parse(name, alpha)
    assert err.value.field == field


@pytest.mark.parametrize("s", [0, -1, 1 / 32, 2000, float("inf"), float("nan"), "4", True])
def test_factor_bounds(s):
    with pytest.raises(ScalingError) as err:
        S.check_factor(s)
    assert err.value.field == "factor"


@given(st.floats(0, 1))
def test_alpha_exponents_sum_to_one(alpha):
    e = S.parse("dWr", alpha).exponents
    assert math.isclose(e["d"] + e["w"] + e["r"], 1.0, rel_tol=1e-12)
    assert e["w"] == pytest.approx(alpha)


@given(st.integers(0, 20), st.integers(0, 20), st.integers(0, 20), st.integers(0, 20))
def test_weight_string_exponents_sum_to_one_and_keep_ratios(d, w, r, g):
    if d + w + r == 0 or g > d + w + r:  # e_g > 1 is refused like explicit exponents (issue 13, item 12)
        return
    name = f"d{d}_w{w}_g{g}_r{r}"
    e = S.parse(name).exponents
    assert math.isclose(e["d"] + e["w"] + e["r"], 1.0, rel_tol=1e-12)
    assert e["d"] * (d + w + r) == pytest.approx(d)
    f = S.parse(name).factors(8.0)
    assert f["d"] * f["w"] ** 2 * f["r"] ** 2 == pytest.approx(8.0)


def test_explicit_exponents_must_sum_to_one():
    assert S.from_exponents(0.2, 0.6, 0.2, 0.6).exponents["g"] == 0.6
    with pytest.raises(ScalingError) as err:
        S.from_exponents(0.5, 0.6, 0.2)
    assert err.value.field == "exponents"
