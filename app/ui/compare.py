"""What the comparison page and the plan calculator compute: every named strategy for one model
and factor (flops, params, acts, predicted time and memory), and the paper's figure of how
flops, params and activations grow with the factor under each strategy (inline SVG, matplotlib).

Plans come from the service's plan cache (the same plans /plan answers), memory from the
analytic model at the page's batch size and dtype, times from the runtime predictor where one
is fitted (else the page says why there is none).
"""

from __future__ import annotations

import io

from fastscale import strategies, zoo
from fastscale.errors import ScalingError
from service.errors import ServiceError
from service.planning.cache import aplan_memory_for
from service.prediction.predictor import predicted_all

FACTORS = (1, 2, 4, 8, 16)
METRICS = ("flops", "params", "acts")


def plan_kwargs(model: str, strategy: str, factor: float) -> dict:
    return {"model": model, "spec": None, "strategy": strategy, "alpha": None, "exponents": None, "factor": factor,
            "target_flops": None, "rounding": "nearest", "resolution": None}


def form_errors(model: str, strategy: str, factor: str) -> tuple[float | None, list[dict]]:
    """Every field's error at once (the page showed only the first of several): (factor, errors)."""
    errors, value = [], None
    try:
        zoo.get(model)
    except ScalingError as exc:
        errors.append(exc.to_dict())
    try:
        strategies.parse(strategy)
    except ScalingError as exc:
        errors.append(exc.to_dict())
    try:
        value = strategies.check_factor(float(factor))
    except ScalingError as exc:  # a ValueError too: first
        errors.append(exc.to_dict())
    except ValueError:
        errors.append(ScalingError("factor", f"{factor[:20]!r} is not a number", "e.g. 4").to_dict())
    return value, errors


async def one(model: str, strategy: str, factor: float, batch: int, dtype: str, predictor) -> dict:
    """A strategy's row: its plan, memory at (batch, dtype) on CUDA, predictions; or its error."""
    try:
        plan, memory = await aplan_memory_for(plan_kwargs(model, strategy, factor), (batch, dtype, False, "cuda"))
    except (ScalingError, ServiceError) as exc:
        return {"strategy": strategy, "error": str(exc)}
    return {"strategy": strategy, "plan": plan, "memory": memory, "predicted": predicted_all(predictor, plan)}


async def strategy_rows(model: str, factor: float, batch: int, dtype: str, predictor) -> list[dict]:
    return [await one(model, name, factor, batch, dtype, predictor) for name in strategies.NAMED]


async def growth_curves(model: str) -> dict[str, list[dict]]:
    """strategy -> [{factor, flops, params, acts growth}] over FACTORS (plans that fail are left out)."""
    curves: dict[str, list[dict]] = {}
    for name in strategies.NAMED:
        points = []
        for f in FACTORS:
            try:
                plan, _memory = await aplan_memory_for(plan_kwargs(model, name, f), (1, "float32", False, "cuda"))
            except (ScalingError, ServiceError):
                continue
            points.append({"factor": f, **{m: plan["growth"][m] for m in METRICS}})
        curves[name] = points
    return curves


def growth_svg(curves: dict[str, list[dict]], model: str, highlight: str | None = None) -> str:
    """The paper's figure: flops, params and acts growth against the flops factor, one line per
    strategy (log-log), as SVG markup to inline in a page."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6), constrained_layout=True)
    for ax, metric in zip(axes, METRICS):
        for name, points in curves.items():
            if points:
                width = 2.6 if name == highlight else 1.3
                ax.plot([p["factor"] for p in points], [p[metric] for p in points], marker="o", ms=3, lw=width,
                        label=name)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log", base=2)
        ax.set_xlabel("flops factor s")
        ax.set_title(f"{metric} growth")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=8, ncol=2)
    fig.suptitle(f"{model}: complexity growth by strategy (nearest rounding)")
    out = io.StringIO()
    fig.savefig(out, format="svg")
    plt.close(fig)
    text = out.getvalue()
    return text[text.index("<svg"):]
