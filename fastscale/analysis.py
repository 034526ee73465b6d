"""The paper's analysis on measured rows: correlations, linear fits, fastest strategy per factor.

Pure numpy: the API computes it for sweeps and for runtime prediction without torch.
"""

from __future__ import annotations

import numpy as np

METRICS = ("flops", "params", "acts")
MODES = ("inference", "training")


def pearson(xs, ys) -> float | None:
    x, y = np.asarray(xs, float), np.asarray(ys, float)
    if len(x) < 3 or x.std() == 0 or y.std() == 0:
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


def analyse(rows: list[dict]) -> dict:
    """rows: each with flops, params, acts, strategy, factor and '<mode>_ms' for measured modes."""
    out: dict = {"pearson": {}, "fit": {}, "fastest": {}}
    for mode in MODES:
        pts = [r for r in rows if r.get(f"{mode}_ms") is not None]
        if not pts:
            continue
        times = [r[f"{mode}_ms"] for r in pts]
        out["pearson"][mode] = {m: pearson([r[m] for r in pts], times) for m in METRICS}
        fit = least_squares([[r["acts"] for r in pts]], times, min_points=3)
        if fit:
            a, b = fit["coefficients"]
            out["fit"][mode] = {"a_ms": a, "b_ms_per_act": b, "r2": fit["r2"], "n": fit["n"],
                                "formula": "time_ms = a_ms + b_ms_per_act * acts"}
        fastest: dict = {}
        for r in pts:
            key = f"{r['factor']:g}"
            if key not in fastest or r[f"{mode}_ms"] < fastest[key]["ms"]:
                fastest[key] = {"strategy": r["strategy"], "alpha": r.get("alpha"), "ms": r[f"{mode}_ms"]}
        out["fastest"][mode] = fastest
    return out


def predict(fit: dict, acts: float, flops: float) -> float:
    c0, c1, c2 = fit["coefficients"]
    return c0 + c1 * acts + c2 * flops

