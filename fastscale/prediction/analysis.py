"""The paper's analysis on measured rows: correlations, linear fits, fastest strategy per factor.

Two rules keep the findings honest (issue #10, requirements 3 and 4):
- Correlations and fits run over distinct architectures. A sweep's 1x base appears once per
  strategy (and ``dw`` at 1x is the same network as ``w`` at 1x); counted once per row it would
  weigh four times in every r. Rows that share a ``profile_id`` are one measurement of one network
  (ids are a hash of the architecture, resolution and settings); rows without one are merged when
  flops, params, acts and resolution all agree.
- Unstable measurements are excluded, not just flagged: a median whose 95 % CI is wider than
  +-1 % (or that drifted, or has n < min_iters) is not a finding. ``points`` says per mode how many
  rows, distinct models, stable and unstable ones there were, which were left out, and a note
  when fewer than three stable models remain (then r and the fit are None).

Pure numpy: the API computes it for sweeps and for runtime prediction without torch.
"""

from __future__ import annotations

import statistics

import numpy as np

METRICS = ("flops", "params", "acts")
MODES = ("inference", "training")
MIN_POINTS = 3


def pearson(xs, ys) -> float | None:
    x, y = np.asarray(xs, float), np.asarray(ys, float)
    if len(x) < MIN_POINTS or x.std() == 0 or y.std() == 0:
        return None
    return float(np.corrcoef(x, y)[0, 1])


def least_squares(columns: list, y, min_points: int | None = None) -> dict | None:
    """Fit y = c0 + sum(ci * column_i). Returns coefficients, R² and n, or None when the data
    cannot determine the fit (too few points, or columns that do not vary independently)."""
    y = np.asarray(y, float)
    X = np.column_stack([np.ones(len(y))] + [np.asarray(c, float) for c in columns])
    need = min_points if min_points is not None else X.shape[1] + 2
    if len(y) < need or np.linalg.matrix_rank(X) < X.shape[1]:
        return None
    coef, *_ = np.linalg.lstsq(X, y, rcond=None)
    fitted = X @ coef
    ss_res = float(((y - fitted) ** 2).sum())
    ss_tot = float(((y - y.mean()) ** 2).sum())
    r2 = 1.0 - ss_res / ss_tot if ss_tot > 0 else (1.0 if ss_res == 0 else 0.0)
    return {"coefficients": [float(c) for c in coef], "r2": r2, "n": int(len(y))}


def _model_key(row: dict):
    if row.get("profile_id"):
        return row["profile_id"]
    return tuple(row.get(k) for k in (*METRICS, "resolution"))


def _label(row: dict) -> str:
    return f"{row.get('label', row.get('strategy'))} {row.get('factor', 0):g}x"


def distinct_models(rows: list[dict], mode: str) -> list[dict]:
    """One point per architecture measured in ``mode``: its figures, its time (the median over
    separate measurements of it), stable only if every measurement of it was, and its labels."""
    groups: dict = {}
    for r in rows:
        if r.get(f"{mode}_ms") is not None:
            groups.setdefault(_model_key(r), []).append(r)
    return [{**{m: group[0][m] for m in METRICS}, "ms": statistics.median(r[f"{mode}_ms"] for r in group),
             "stable": all(r.get(f"{mode}_stable") is True for r in group),
             "labels": [_label(r) for r in group]}
            for group in groups.values()]


def _points(rows: list[dict], models: list[dict], used: list[dict]) -> dict:
    left_out = [label for m in models if not m["stable"] for label in m["labels"]]
    out = {"rows": len(rows), "distinct": len(models), "stable": len(used), "unstable": len(models) - len(used),
           "excluded": left_out}
    if len(used) < MIN_POINTS:
        out["note"] = (f"only {len(used)} of {len(models)} distinct models were measured stably: no correlation or "
                       "fit is reported; measure again with a larger time_budget_s")
    elif left_out:
        out["note"] = f"{len(models) - len(used)} unstable model(s) left out of r and the fit"
    return out


def _fastest(rows: list[dict], mode: str) -> dict:
    """Per factor, the strategy with the lowest stable time (factors with none stable are absent)."""
    fastest: dict = {}
    for r in rows:
        if r.get(f"{mode}_ms") is None or r.get(f"{mode}_stable") is not True:
            continue
        key = f"{r['factor']:g}"
        if key not in fastest or r[f"{mode}_ms"] < fastest[key]["ms"]:
            fastest[key] = {"strategy": r["strategy"], "alpha": r.get("alpha"), "ms": r[f"{mode}_ms"]}
    return fastest


def analyse(rows: list[dict]) -> dict:
    """rows: each with flops, params, acts, strategy, factor, and per measured mode '<mode>_ms' and
    '<mode>_stable' (a row without '<mode>_stable': true counts as unstable); 'profile_id' names
    the measurement, so rows of one network count once."""
    out: dict = {"pearson": {}, "fit": {}, "fastest": {}, "points": {}}
    for mode in MODES:
        measured = [r for r in rows if r.get(f"{mode}_ms") is not None]
        if not measured:
            continue
        models = distinct_models(measured, mode)
        used = [m for m in models if m["stable"]]
        out["points"][mode] = _points(measured, models, used)
        times = [m["ms"] for m in used]
        out["pearson"][mode] = {metric: pearson([m[metric] for m in used], times) for metric in METRICS}
        fit = least_squares([[m["acts"] for m in used]], times, min_points=MIN_POINTS)
        if fit:
            a, b = fit["coefficients"]
            out["fit"][mode] = {"a_ms": a, "b_ms_per_act": b, "r2": fit["r2"], "n": fit["n"],
                                "formula": "time_ms = a_ms + b_ms_per_act * acts"}
        out["fastest"][mode] = _fastest(measured, mode)
    return out


def predict(fit: dict, acts: float, flops: float) -> float:
    c0, c1, c2 = fit["coefficients"]
    return c0 + c1 * acts + c2 * flops
