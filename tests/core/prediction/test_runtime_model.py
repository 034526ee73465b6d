"""The runtime model (issue 11.1): physical, never negative, and within the goal on the H200 sweep."""

import json

import numpy as np
import pytest

from fastscale import zoo
from fastscale.errors import ScalingError
from fastscale.prediction.nnls import nnls
from fastscale.planning.planner import make_plan
from fastscale.prediction.predictor_eval import evaluate_rows, h200_sweep_rows
from fastscale.prediction.runtime_model import TERMS, conformal_p90, fit_runtime, terms
from tests.paths import DATA

H200 = json.loads((DATA / "h200_measurements.json").read_text())


def test_nnls_meets_the_optimality_conditions():
    rng = np.random.default_rng(0)
    for _ in range(100):
        a = rng.random((rng.integers(2, 20), rng.integers(1, 7)))
        b = rng.normal(size=a.shape[0])
        x = nnls(a, b)
        gradient = a.T @ (b - a @ x)
        assert (x >= 0).all() and (gradient <= 1e-8).all() and np.allclose(gradient[x > 0], 0, atol=1e-8)


def test_terms_split_depthwise_and_1x1_map_work_from_the_totals():
    effnet, resnet = zoo.get("EfficientNet-B0"), zoo.get("ResNet-50")
    t = terms(effnet.spec, 224, 64)["inference"]
    assert t["dw_flops"] > 0 and t["vec_bytes"] > 0 and t["flops"] + t["dw_flops"] == 64 * effnet.spec.complexity(224)["flops"]
    r = terms(resnet.spec, 224, 64)["training"]
    assert r["dw_flops"] == 0 and r["vec_bytes"] > 0 and r["kernels"] > terms(resnet.spec, 224, 64)["inference"]["kernels"]


def test_the_reported_bug_a_fit_over_few_points_of_another_family_never_goes_negative():
    """/plan once answered "ms": -6758.5 from a least-squares fit over unstable points of another
    family. Non-negative rates over non-negative terms cannot, and far from the data it says so."""
    small = [make_plan(model="RegNetX-200MF", strategy="w", factor=f) for f in (1, 1.5, 2, 2.5, 3)]
    points = [terms(p.arch, p.resolution, 8)["inference"] for p in small]
    times = [30.0, 4.0, 45.0, 3.0, 60.0]  # noise, as unstable CPU medians are
    fit = fit_runtime(points, times)
    far = make_plan(model="EfficientNet-B4", strategy="dWr", factor=16)
    got = fit.predict(terms(far.arch, far.resolution, 8)["inference"])
    assert got["ms"] >= 0 and got["extrapolated"] is True
    assert all(c >= 0 for c in fit.coefficients) and fit.expected_error["p90"] > 0.5  # the bar says how bad


def test_an_exact_law_is_recovered_and_the_error_bar_is_zero():
    plans = [make_plan(model="RegNetY-400MF", strategy=s, factor=f) for s in ("w", "dwr") for f in (1.5, 2, 3, 4)]
    rates = dict(zip(TERMS, (0.005, 2e-10, 1e-11, 5e-10, 1e-8)))
    points = [terms(p.arch, p.resolution, 16)["training"] for p in plans]
    fit = fit_runtime(points, [sum(rates[k] * pt[k] for k in TERMS) for pt in points])
    assert fit.expected_error["median"] < 1e-6 and fit.expected_error["p90"] < 1e-6
    inside = fit.predict(points[3])
    assert inside["extrapolated"] is False and inside["ms"] == pytest.approx(sum(rates[k] * points[3][k] for k in TERMS))


def test_conformal_p90_is_an_order_statistic_that_covers_at_least_90_percent():
    assert conformal_p90([0.01 * i for i in range(1, 18)]) == pytest.approx(0.17)  # n < 19: the largest
    errors = [0.001 * i for i in range(1, 101)]
    p90 = conformal_p90(errors)
    assert p90 == pytest.approx(0.091) and sum(e <= p90 for e in errors) >= 90


def test_the_goal_holds_on_the_h200_efficientnet_sweep():
    rows = h200_sweep_rows(H200)
    assert len(rows) == 20
    report = evaluate_rows(rows, batch_size=H200["settings"]["batch_size"])
    for mode in ("inference", "training"):
        r = report[mode]
        assert r["n"] == 17  # 20 rows, the 1x base once per strategy: 17 distinct networks
        assert r["features"] == list(TERMS)
        assert r["loo_median_rel_error"] <= 0.03 and r["loo_max_rel_error"] <= 0.08, r
        assert r["p90_coverage"] >= 0.9, r


def test_rows_are_checked_against_re_planning():
    rows = h200_sweep_rows(H200)
    rows[3] = {**rows[3], "flops": rows[3]["flops"] + 1}
    with pytest.raises(ScalingError, match=r"rows\[3\]\.flops"):
        evaluate_rows(rows)
    with pytest.raises(ScalingError, match="list of objects"):
        evaluate_rows({"rows": []})
