"""Canonical strategy names (issue 24): one name per strategy, whatever spelling asked for it.

Every named strategy and every form of weight string is checked against what its exponents
are, computed here from the weights with Fractions (the reduced ratio), so a rename that merged
two different strategies, or split one, fails."""

from __future__ import annotations

import itertools
from fractions import Fraction

import pytest

from fastscale import strategies
from fastscale.errors import ScalingError


def _exponents(s: strategies.Strategy) -> tuple:
    return tuple(round(s.exponents[k], 12) for k in "dwrg")


@pytest.mark.parametrize("name", [n for n in strategies.NAMED if n != "dWr"])
def test_every_named_strategy_is_its_own_canonical_name_in_any_letter_order(name):
    assert strategies.canonical(name) == (name, None)
    for perm in itertools.permutations(name):
        s = strategies.parse("".join(perm))
        assert s.name == name and s.alpha is None and _exponents(s) == _exponents(strategies.parse(name))
    as_weights = "_".join(f"{c}1" for c in name)  # d1_w1_r1 is dwr, d1 is d
    assert strategies.canonical(as_weights) == (name, None)
    assert strategies.canonical("_".join(f"{c}3.5" for c in name)) == (name, None)


def test_dwr_and_dWr_are_different_strategies_with_different_names():
    dwr, dWr = strategies.parse("dwr"), strategies.parse("dWr")
    assert dwr.name == "dwr" and dWr.name == "dWr" and dWr.alpha == 0.8
    assert _exponents(dwr) != _exponents(dWr)
    for wrong_case in ("DWR", "Dwr", "dwR", "DWr"):
        with pytest.raises(ScalingError):
            strategies.parse(wrong_case)


@pytest.mark.parametrize("text, alpha", [("d1_w8_r1", 0.8), ("d2_w16_r2", 0.8), ("d0.5_w4_r0.5", 0.8),
                                         ("d1_w2_r1", 0.5), ("d1_w3_r1", 0.6), ("d3_w4_r3", 0.4)])
def test_a_weight_string_with_d_equal_r_is_dWr_at_its_alpha(text, alpha):
    s = strategies.parse(text)
    parts = {p[0]: Fraction(p[1:]) for p in text.split("_")}
    assert alpha == float(parts["w"] / (parts["d"] + parts["w"] + parts["r"]))
    assert (s.name, s.alpha) == ("dWr", alpha)
    assert _exponents(s) == _exponents(strategies.parse("dWr", alpha))


@pytest.mark.parametrize("text, name", [("d2_w4", "d1_w2"), ("w4_d2", "d1_w2"), ("d1_w8_g8_r1", "d1_w8_g8_r1"),
                                        ("d2_w16_g16_r2", "d1_w8_g8_r1"), ("d1_w5_r1", "d1_w5_r1"),
                                        ("r1_w3", "w3_r1"), ("d0.25_r0.75", "d1_r3"), ("w1_g1", "wg"),
                                        ("r2_g2", "gr")])
def test_other_weight_strings_are_their_reduced_ratio_in_d_w_g_r_order(text, name):
    s = strategies.parse(text)
    assert s.name == name and strategies.parse(name).name == name
    assert _exponents(s) == _exponents(strategies.parse(name))
    given = {p[0]: Fraction(p[1:]) for p in text.split("_")}
    total = sum(v for k, v in given.items() if k != "g")
    for k in "dwrg":
        assert s.exponents[k] == pytest.approx(float(given.get(k, 0) / total), abs=1e-15)


def test_dWr_at_the_ends_of_alpha_is_the_single_dimension_name():
    assert strategies.canonical("dWr", 1.0) == ("w", None)
    assert strategies.canonical("dWr", 0.0) == ("dr", None)
    assert strategies.canonical("dWr", 0.5) == ("dWr", 0.5)
    assert strategies.canonical("dWr", 1 / 3)[0] == "dWr"  # no short decimal: kept as asked


def test_names_stay_canonical_through_a_plan_and_its_json():
    from fastscale.planning.planner import make_plan

    a = make_plan(model="ResNet-50", strategy="wdr", factor=2).to_dict()
    b = make_plan(model="ResNet-50", strategy="dwr", factor=2).to_dict()
    c = make_plan(model="ResNet-50", strategy="d1_w1_r1", factor=2).to_dict()
    assert a["strategy"] == b["strategy"] == c["strategy"] and a["strategy"]["name"] == "dwr"
    assert a["arch"] == b["arch"] == c["arch"]
    ref = make_plan(model="ResNet-50", strategy="d1_w8_r1", factor=4, rounding="pycls").to_dict()
    dwr = make_plan(model="ResNet-50", strategy="dWr", factor=4, rounding="pycls").to_dict()
    assert ref["strategy"]["name"] == "dWr" and ref["arch"] == dwr["arch"]
