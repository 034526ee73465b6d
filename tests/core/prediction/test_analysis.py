"""Sweep analysis (issue #10, requirements 3 and 4): over distinct architectures, stable points only."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fastscale.prediction.analysis import analyse
from tests.conftest import DATA


def h200_sweep_rows(all_stable: bool) -> list[dict]:
    """The EfficientNet-B0 sweep measured on an H200 (tests/data/README.md), as sweep rows. Rows
    have no profile_id here, so networks are told apart by their figures."""
    sweep = json.loads((DATA / "h200_measurements.json").read_text())["efficientnet_b0_sweep"]
    rows = [dict(zip(sweep["columns"], r)) for r in sweep["rows"]]
    for r in rows:
        r["label"] = r["strategy"]
        if all_stable:
            r["inference_stable"] = r["training_stable"] = True
    return rows


def test_correlations_count_each_network_once():
    out = analyse(h200_sweep_rows(all_stable=True))
    # The figures over distinct models: training time vs acts 0.992, flops 0.856, params
    # 0.647. Counting the 1x base once per strategy (4 times) gave 0.993, 0.879 and 0.698.
    r = out["pearson"]["training"]
    assert (round(r["acts"], 3), round(r["flops"], 3), round(r["params"], 3)) == (0.992, 0.856, 0.647)
    for mode in ("inference", "training"):
        assert out["points"][mode] == {"rows": 20, "distinct": 17, "stable": 17, "unstable": 0, "excluded": []}
        assert out["fit"][mode]["n"] == 17


def test_unstable_measurements_are_left_out_and_named():
    out = analyse(h200_sweep_rows(all_stable=False))
    # As measured: every training row unstable, and inference unstable at w, dwr and dWr 16x.
    training = out["points"]["training"]
    assert training["stable"] == 0 and training["distinct"] == 17 and "measure again" in training["note"]
    assert out["pearson"]["training"] == {"flops": None, "params": None, "acts": None}
    assert "training" not in out["fit"] and out["fastest"]["training"] == {}
    inference = out["points"]["inference"]
    assert (inference["stable"], inference["unstable"]) == (14, 3)
    assert sorted(inference["excluded"]) == ["dWr 16x", "dwr 16x", "w 16x"] and "left out" in inference["note"]
    assert out["fit"]["inference"]["n"] == 14
    # At 16x only dw was stable, so it is the only candidate there (w and dWr, unstable, were faster).
    assert out["fastest"]["inference"]["16"]["strategy"] == "dw"


def test_an_unstable_outlier_does_not_move_r():
    rows = [{"strategy": "w", "label": "w", "factor": f, "profile_id": f"id{f}", "flops": f * 1e9, "params": f,
             "acts": f * 1e6, "inference_ms": 2.0 * f, "inference_stable": True} for f in (1, 2, 4, 8)]
    wild = {**rows[-1], "factor": 16, "profile_id": "id16", "acts": 16e6, "flops": 16e9, "inference_ms": 0.5,
            "inference_stable": False}
    out = analyse(rows + [wild])
    assert out["pearson"]["inference"]["acts"] == pytest.approx(1.0)
    assert out["points"]["inference"]["excluded"] == ["w 16x"]
    assert out["fastest"]["inference"].keys() == {"1", "2", "4", "8"}


def test_rows_sharing_a_profile_id_are_one_point_and_unknown_stability_counts_as_unstable():
    base = {"strategy": "w", "label": "w", "factor": 1, "profile_id": "same", "flops": 1, "params": 1, "acts": 1,
            "training_ms": 5.0, "training_stable": True}
    others = [{**base, "strategy": s, "label": s, "factor": f, "profile_id": f"{s}{f}", "flops": f, "acts": f,
               "training_ms": 5.0 * f} for s, f in (("dw", 2), ("dw", 4))]
    no_flag = {**base, "profile_id": "x", "flops": 9, "acts": 9, "training_ms": 1.0}
    del no_flag["training_stable"]
    out = analyse([base, {**base, "strategy": "dw", "label": "dw"}, *others, no_flag])
    points = out["points"]["training"]
    assert points["rows"] == 5 and points["distinct"] == 4 and points["stable"] == 3 and points["excluded"] == ["w 1x"]
    expected = np.corrcoef([1, 2, 4], [5.0, 10.0, 20.0])[0, 1]
    assert out["pearson"]["training"]["acts"] == pytest.approx(expected)
