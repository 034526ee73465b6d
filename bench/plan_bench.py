"""Planning speed: plan (both roundings) and analytic complexity vs counting the built module on meta.

Goals (issue #2): analytic complexity under 1 ms per model; a ``nearest`` plan under 50 ms.
Run: ``python bench/plan_bench.py [--models EfficientNet-B0 RegNetY-400MF ...] [--repeat 5]``
Analytic complexity is timed cold (stage cache cleared) so it is the honest per-model cost.
"""

from __future__ import annotations

import argparse
import statistics
import time

from rich.console import Console
from rich.table import Table

from fastscale.families import anynet, effnet
from fastscale.planner import make_plan
from fastscale.verify import count

DEFAULT_MODELS = ["EfficientNet-B0", "EfficientNet-B5", "RegNetY-400MF", "RegNetX-32GF", "ResNet-50", "ResNeXt-152"]


def clear_caches() -> None:
    anynet._stage_cost.cache_clear()
    effnet._stage_cost.cache_clear()


def timed(fn, repeat: int, cold: bool = False) -> float:
    times = []
    for _ in range(repeat):
        if cold:
            clear_caches()
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e3


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="*", default=DEFAULT_MODELS)
    ap.add_argument("--strategy", default="dWr")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    table = Table("model", "s", "plan nearest ms", "plan pycls ms", "analytic ms", "meta count ms", "count/analytic",
                  title=f"fastscale planning, strategy {args.strategy}, median of {args.repeat} (cold caches)")
    worst_plan = worst_cx = 0.0
    for name in args.models:
        for s in (1, 16):
            plan = make_plan(name, strategy=args.strategy, factor=s)
            t_near = timed(lambda: make_plan(name, strategy=args.strategy, factor=s), args.repeat, cold=True)
            t_pycls = timed(lambda: make_plan(name, strategy=args.strategy, factor=s, rounding="pycls"), args.repeat, True)
            t_cx = timed(lambda: plan.arch.complexity(plan.resolution), args.repeat, cold=True)
            t_meta = timed(lambda: count(plan.arch, plan.resolution), max(1, args.repeat // 2))
            worst_plan, worst_cx = max(worst_plan, t_near), max(worst_cx, t_cx)
            table.add_row(name, f"{s}x", f"{t_near:.2f}", f"{t_pycls:.2f}", f"{t_cx:.3f}", f"{t_meta:.1f}",
                          f"{t_meta / t_cx:.0f}x")
    console = Console(width=140)
    console.print(table)
    console.print(f"worst analytic complexity {worst_cx:.3f} ms (goal < 1 ms): {'met' if worst_cx < 1 else 'MISSED'}")
    console.print(f"worst nearest plan {worst_plan:.1f} ms (goal < 50 ms): {'met' if worst_plan < 50 else 'MISSED'}")


if __name__ == "__main__":
    main()
