"""Nearest rounding's accuracy on ConvNeXt and ViT: the worst miss of the flops target per model
and strategy over factors 1.5 to 64 (the grid of bench/plan_bench.py), and the worst over all
strategies without r (the 2 % goal) and with r (resolution in steps of the patch size).

Run: ``python bench/families/accuracy.py [--models ConvNeXt-T ViT-S/16 ...]``
"""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.table import Table

from fastscale import zoo
from fastscale.planning.planner import make_plan

STRATEGIES = ("d", "w", "r", "dw", "dr", "wr", "dwr", "dWr")
FACTORS = (1.5, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64)
MODELS = ("ConvNeXt-T", "ConvNeXt-S", "ConvNeXt-B", "ConvNeXt-L", "ViT-Ti/16", "ViT-S/16", "ViT-B/16", "ViT-L/16")


def worst(model: str, strategy: str) -> tuple[float, float]:
    """(largest |achieved / requested - 1|, the factor where it happens)."""
    out = (0.0, 0.0)
    for f in FACTORS:
        miss = abs(make_plan(model=model, strategy=strategy, factor=f).achieved_factor / f - 1)
        out = max(out, (miss, f))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="*", default=list(MODELS))
    args = ap.parse_args()
    table = Table("model", *STRATEGIES, title="worst |flops miss| over factors 1.5-64 (nearest rounding)")
    overall = {"without r": (0.0, ""), "with r": (0.0, "")}
    for model in args.models:
        cells = []
        for strategy in STRATEGIES:
            miss, f = worst(model, strategy)
            cells.append(f"{100 * miss:.2f} % @{f:g}")
            key = "with r" if "r" in strategy else "without r"
            overall[key] = max(overall[key], (miss, f"{model} {strategy} x{f:g}"))
        table.add_row(model, *cells)
    console = Console(width=200)
    console.print(table)
    for key, (miss, where) in overall.items():
        console.print(f"worst {key}: {100 * miss:.2f} % ({where})")


if __name__ == "__main__":
    main()
