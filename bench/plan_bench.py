"""Planning speed in-process: `nearest` vs the reference (`pycls`) rounding, same run, same grid.

Goal (issue 11, section 2): `nearest` plan p50 <= 1 ms over zoo x strategies x factors 1.5-64,
printed with its ratio to the reference rounding's p50. Also times what a POST /plan costs in
the core beyond planning (`make_plan(...).to_dict()`), and analytic complexity of one model.
Each plan is timed with the value caches cleared first (``--warm`` keeps them), so the figure
is what a request for a plan never seen before costs: block and stage flops live in a per-plan
``StageCosts`` anyway, and width images and spatial sizes are cleared here. What stays warm, as
in a running service, is only what depends on a model's or a table's shape, never on a
request's values: parsed zoo specs, strategy weights, and the search's move and index layouts.
ConvNeXt and ViT (issue 21) have no reference rounding and no group width: their `nearest` plans
(strategies without g) are timed in rows of their own, against the same 1 ms goal.
Run: ``python bench/plan_bench.py [--models ResNet-50 ...] [--every 1] [--repeat 1] [--warm]``
"""

from __future__ import annotations

import argparse
import functools
import sys
import statistics
import time

import numpy as np
from rich.console import Console
from rich.table import Table

from fastscale import zoo
from fastscale.planning.planner import make_plan

STRATEGIES = [("d", None), ("w", None), ("r", None), ("dw", None), ("dr", None), ("wr", None), ("dwr", None),
              ("dWr", None), ("dWr", 0.5), ("d1_w8_g8_r1", None)]
FACTORS = (1.5, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64)
PLANNING_CACHES = ("fastscale.planning.block_flops", "fastscale.planning.width_ladder", "fastscale.families.anynet",
                   "fastscale.families.effnet", "fastscale.planning.stage_cost")


def clear_caches() -> None:
    """Forget every memoised block cost, width image and ladder, so the next plan pays its full
    price (the zoo's own parsed specs stay, as they do in a running service). Also works on an
    older checkout (``PYTHONPATH=...``), whose stage caches lived in the family modules."""
    for name in PLANNING_CACHES:
        module = sys.modules.get(name)  # the planner has imported whichever of them it has
        for value in vars(module).values() if module else ():
            if isinstance(value, functools._lru_cache_wrapper) and value.__module__ != "fastscale.families.regnet":
                value.cache_clear()


def timed(fn, repeat: int, warm: bool) -> float:
    best = float("inf")
    for _ in range(repeat):
        if not warm:
            clear_caches()
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best * 1e3


def token_family(model: str) -> bool:
    """ConvNeXt and ViT: planned by their own nearest search (``fastscale.planning.dims``)."""
    return hasattr(zoo.get(model).spec, "dims")


def grid(models, every: int) -> list[dict]:
    cases = [{"model": m, "strategy": s, "alpha": a, "factor": f}
             for m in models for s, a in STRATEGIES for f in FACTORS
             if not (token_family(m) and "g" in s)]
    return cases[::every]


def row(name: str, times: list[float]) -> list[str]:
    q = np.percentile(times, [50, 90, 99])
    return [name, str(len(times)), f"{q[0]:.3f}", f"{q[1]:.3f}", f"{q[2]:.3f}", f"{max(times):.2f}"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="*", default=zoo.names())
    ap.add_argument("--every", type=int, default=1, help="time every n-th case of the grid")
    ap.add_argument("--repeat", type=int, default=1, help="best of n per case")
    ap.add_argument("--warm", action="store_true", help="keep per-stage caches between plans")
    args = ap.parse_args()
    cases = grid(args.models, args.every)
    results: dict[str, list[float]] = {"nearest": [], "pycls": [], "nearest + to_dict": [], "pycls + to_dict": [],
                                       "nearest convnext/vit": [], "nearest convnext/vit + to_dict": []}
    for kwargs in cases:
        token = token_family(kwargs["model"])
        for rounding in ("nearest",) if token else ("nearest", "pycls"):
            plan = functools.partial(make_plan, rounding=rounding, **kwargs)
            key = f"{rounding} convnext/vit" if token else rounding
            results[key].append(timed(plan, args.repeat, args.warm))
            results[f"{key} + to_dict"].append(timed(lambda: plan().to_dict(), args.repeat, args.warm))
    results = {name: times for name, times in results.items() if times}
    cx_times = [timed(lambda: zoo.get(m).spec.complexity(zoo.get(m).resolution), 3, False) for m in args.models]
    table = Table("what", "n", "p50 ms", "p90 ms", "p99 ms", "max ms",
                  title=f"planning, {len(args.models)} models x {len(STRATEGIES)} strategies x factors "
                        f"{FACTORS[0]}-{FACTORS[-1]}, {'warm' if args.warm else 'cold'} caches")
    for name, times in results.items():
        table.add_row(*row(name, times))
    table.add_row(*row("analytic complexity (per model)", cx_times))
    console = Console(width=140)
    console.print(table)
    if results.get("pycls"):
        near, ref = statistics.median(results["nearest"]), statistics.median(results["pycls"])
        console.print(f"nearest p50 {near:.3f} ms (goal <= 1 ms): {'met' if near <= 1 else 'MISSED'}; "
                      f"reference (pycls) p50 {ref:.3f} ms; ratio nearest/pycls {near / ref:.1f}x")
    if results.get("nearest convnext/vit"):
        near = statistics.median(results["nearest convnext/vit"])
        console.print(f"nearest convnext/vit p50 {near:.3f} ms (goal <= 1 ms): {'met' if near <= 1 else 'MISSED'}")


if __name__ == "__main__":
    main()
