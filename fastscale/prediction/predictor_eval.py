"""How well the runtime model predicts measured rows it has not seen (``fastscale predictor-eval``).

Each row names a plan (model, strategy, factor, optional alpha and rounding) and its measured
``inference_ms`` / ``training_ms``; the row is re-planned to get its architecture and terms. Rows
of one network (a sweep's 1x base appears once per strategy) count once, at their median time,
so no point is ever predicted by a fit that contains its own measurement. One model is fitted
per family; every point is predicted by the fit of the other points of its family (leave one
out), and each such fit's own reported p90 is checked against the left-out point's error
(``p90_coverage``: how often the error bar a prediction would carry held).
"""

from __future__ import annotations

import hashlib
import json
import statistics

import numpy as np

from fastscale.errors import ScalingError
from fastscale.planning.planner import make_plan
from fastscale.prediction.runtime_model import MODES, TERMS, conformal_p90, fit_runtime, terms

SWEEP_TABLE = "efficientnet_b0_sweep"
SWEEP_MODEL = "EfficientNet-B0"


def arch_key(arch: dict, resolution: int) -> str:
    """Names one network (architecture and resolution) whatever plan produced it."""
    text = json.dumps({"arch": arch, "resolution": resolution}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def h200_sweep_rows(data: dict, table: str = SWEEP_TABLE, model: str = SWEEP_MODEL) -> list[dict]:
    """Rows for ``evaluate_rows`` from the H200 measurements file's sweep table (columns + rows),
    keeping its flops and resolution so that re-planning is checked against what was measured."""
    sweep = data[table]
    rounding = data.get("settings", {}).get("rounding", "nearest")
    out = []
    for values in sweep["rows"]:
        row = dict(zip(sweep["columns"], values))
        out.append({"model": model, "strategy": row["strategy"], "factor": row["factor"], "rounding": rounding,
                    **{k: row[k] for k in ("resolution", "flops", "inference_ms", "training_ms") if k in row}})
    return out


def _sample(row: dict, index: int, batch_size: int, dtype: str) -> dict:
    try:
        plan = make_plan(model=row["model"], strategy=row.get("strategy", "dWr"), alpha=row.get("alpha"),
                         factor=row["factor"], rounding=row.get("rounding") or "nearest")
    except KeyError as exc:
        raise ScalingError(f"rows[{index}]", f"missing {exc.args[0]}", "model, strategy, factor") from exc
    except ScalingError as exc:
        raise ScalingError(f"rows[{index}].{exc.field}", exc.message, exc.allowed) from exc
    for name, mine in (("resolution", plan.resolution), ("flops", plan.complexity["flops"])):
        if name in row and row[name] != mine:
            raise ScalingError(f"rows[{index}].{name}", f"the row says {row[name]}, re-planning gives {mine}",
                               "rows measured with this planner's rounding")
    return {"family": plan.base.spec.family, "key": arch_key(plan.arch.to_dict(), plan.resolution),
            "terms": terms(plan.arch, plan.resolution, batch_size, dtype)}


def samples(rows: list[dict], batch_size: int = 64, dtype: str = "float32") -> dict:
    """Per mode, one sample per distinct network: family, terms and the median measured ms."""
    planned = [_sample(row, i, batch_size, dtype) for i, row in enumerate(rows)]
    out = {}
    for mode in MODES:
        groups: dict = {}
        for row, s in zip(rows, planned):
            if row.get(f"{mode}_ms") is not None:
                groups.setdefault(s["key"], (s, []))[1].append(float(row[f"{mode}_ms"]))
        out[mode] = [{"family": s["family"], "key": key, "terms": s["terms"][mode], "ms": statistics.median(ms)}
                     for key, (s, ms) in groups.items()]
    return out


def _family(points: list[dict], features: tuple) -> tuple[list[float], list[bool]]:
    """LOO errors of one family's fit and, per point, whether the p90 that the fit without it
    reports covered its error."""
    fit = fit_runtime([p["terms"] for p in points], [p["ms"] for p in points], features)
    if fit is None:
        return [], []
    p90, covered = fit.expected_error["p90"], []
    for i, err in enumerate(fit.loo_errors):
        rest = points[:i] + points[i + 1:]
        inner = fit_runtime([p["terms"] for p in rest], [p["ms"] for p in rest], features)
        covered.append((abs(err) <= p90, inner is not None and abs(err) <= inner.expected_error["p90"]))
    return [abs(e) for e in fit.loo_errors], covered


def evaluate(mode_samples: list[dict], features: tuple = TERMS) -> dict:
    """LOO figures of one mode over every family with enough points."""
    families: dict = {}
    for s in mode_samples:
        families.setdefault(s["family"], []).append(s)
    errors, covered, counts = [], [], {}
    for family, points in sorted(families.items()):
        e, c = _family(points, features)
        errors += e
        covered += c
        counts[family] = len(e)
    if not errors:
        return {"n": 0, "features": list(features), "families": counts, "loo_median_rel_error": None,
                "loo_p90_rel_error": None, "loo_max_rel_error": None, "p90_coverage": None,
                "p90_coverage_unseen": None}
    return {"n": len(errors), "features": list(features), "families": counts,
            "loo_median_rel_error": float(np.median(errors)), "loo_p90_rel_error": conformal_p90(errors),
            "loo_max_rel_error": float(max(errors)),
            "p90_coverage": sum(c for c, _ in covered) / len(covered),
            "p90_coverage_unseen": sum(c for _, c in covered) / len(covered)}


def evaluate_rows(rows: list[dict], batch_size: int = 64, dtype: str = "float32") -> dict:
    """``{mode: evaluate(...)}`` for every mode some row measured."""
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise ScalingError("rows", "must be a JSON list of objects", "[{model, strategy, factor, inference_ms}]")
    per_mode = samples(rows, batch_size, dtype)
    return {mode: evaluate(s) for mode, s in per_mode.items() if s}
