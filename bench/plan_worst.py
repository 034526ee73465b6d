"""Worst cases for planning: adversarial specs within the validation bounds, extreme factors.

Goal (issue 13, item 2): any request that passes validation plans in <= 1 s (or is refused with
a clear ScalingError); zoo plans stay bit-identical (tests/core/planning/test_plan_golden.py).
Prints the slowest cases, hand-picked ones (the issue's) and a seeded random hunt, each planned
twice: without a CPU budget (what it really costs) and with the default budget (what a request
gets: the plan, or the ScalingError it raises).
Run: ``python bench/plan_worst.py [--random 300] [--seed 13] [--top 25]``
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fastscale.errors import ScalingError  # noqa: E402
from fastscale.families import _fields as bounds  # noqa: E402
from fastscale.planning.planner import make_plan, resolve_base  # noqa: E402

W = bounds.MAX_WIDTH
STRATEGIES = ["dWr", "dwr", "w", "d", "r", "d1_w8_g8_r1", "d1_w1_g3_r1", "w1_g1", "d1_g1"]
BOT_MULS = [0.0625, 0.0625, 0.25, 0.3, 0.7, 1.0, 1.01, 1.5, 2.5, 7.9, 8.0]


def hand_picked() -> list[tuple[str, dict]]:
    """The issue's two cases and the shapes that stress each part of the search."""
    anynet16 = {"family": "anynet", "depths": [1] * 16, "widths": [W] * 16, "group_ws": [8192] * 16,
                "bot_muls": [0.0625] * 16}
    wide_b = {"family": "anynet", "depths": [2] * 16, "widths": [259552] * 16, "group_ws": [65537] * 16,
              "bot_muls": [1.01] * 16}
    deep = {"family": "anynet", "depths": [4096] * 16, "widths": [W] * 16, "strides": [1] * 16,
            "block_type": "res_basic_block"}
    eff = {"family": "effnet", "depths": [4096] * 16, "widths": [W] * 16, "exp_ratios": [16] * 16,
           "kernels": [7] * 16, "strides": [1] * 16, "stem_w": W, "head_w": W}
    regnet = {"family": "regnet", "depth": 16, "w0": 262144, "wa": 0, "wm": 2, "group_w": 16384, "bot_mul": 0.25}
    out = []
    for name, spec in [("issue: anynet 16x262144 g8192 b1/16", anynet16), ("anynet 16 stages b1.01 g65537", wide_b),
                       ("anynet 16x4096 blocks, stride 1", deep), ("effnet 16x4096, x16, k7", eff),
                       ("regnet w0 262144 g16384 b1/4 (87 bytes)", regnet)]:
        for strategy in ("dWr", "d1_w8_g8_r1", "w1_g1"):
            for factor in (1 / 16, 2, 1024):
                out.append((f"{name} {strategy} x{factor:g}", {"spec": spec, "strategy": strategy, "factor": factor}))
    return out


def random_spec(rng: random.Random) -> dict:
    """A spec drawn towards the bounds: many stages, huge or odd widths, odd multipliers."""
    n = rng.choice([1, 4, 16, 16])
    family = rng.choice(["anynet", "anynet", "effnet", "regnet"])
    width = lambda: int(2 ** rng.uniform(0, 18))  # noqa: E731
    if family == "regnet":
        return {"family": "regnet", "depth": rng.choice([1, 16, 300, 65536]), "w0": 8 * rng.randint(1, W // 8),
                "wa": rng.uniform(0, 1024), "wm": rng.uniform(1.0001, 16), "group_w": rng.choice([1, 8, 232, 16384]),
                "bot_mul": rng.choice(BOT_MULS), "se_on": rng.random() < 0.5}
    depths = [rng.choice([1, 2, 4096 // n]) for _ in range(n)]
    if family == "effnet":
        return {"family": "effnet", "depths": depths, "widths": [width() for _ in range(n)], "stem_w": width(),
                "exp_ratios": [rng.randint(1, 16) for _ in range(n)], "kernels": [7] * n,
                "strides": [rng.choice([1, 2]) for _ in range(n)], "head_w": width()}
    widths, muls = [width() for _ in range(n)], [rng.choice(BOT_MULS) for _ in range(n)]
    groups = []
    for w, b in zip(widths, muls):
        w_b = max(1, int(round(w * b)))
        groups.append(rng.choice([d for d in (1, 2, 3, 8, 24, w_b // 4, w_b // 3, w_b) if d and w_b % d == 0]))
    return {"family": "anynet", "depths": depths, "widths": widths, "bot_muls": muls, "group_ws": groups,
            "strides": [rng.choice([1, 2]) for _ in range(n)], "se_r": rng.choice([0.0, 0.25])}


def hunt(rng: random.Random, count: int) -> list[tuple[str, dict]]:
    out = []
    while len(out) < count:
        spec = random_spec(rng)
        try:
            resolve_base(spec=spec)
        except ScalingError:
            continue
        kwargs = {"spec": spec, "strategy": rng.choice(STRATEGIES), "rounding": rng.choice(["nearest"] * 3 + ["pycls"]),
                  "factor": rng.choice([1 / 16, 0.3, 2, 37, 1024]), "resolution": rng.choice([None, 16, 4096])}
        out.append((f"random {len(out)}: {spec['family']} {len(spec.get('depths', [0]))} stages "
                    f"{kwargs['strategy']} x{kwargs['factor']:g} r{kwargs['resolution']} {kwargs['rounding']}", kwargs))
    return out


def run(kwargs: dict, budget_s) -> tuple[float, str]:
    t = time.perf_counter()
    try:
        plan = make_plan(budget_s=budget_s, **kwargs)
        outcome = f"plan, {plan.achieved_factor:.3f}x"
    except ScalingError as exc:
        outcome = f"422 {exc.field}: {exc.message[:60]}"
    except Exception as exc:  # noqa: BLE001  (a bug: the service would answer 500)
        outcome = f"BUG {type(exc).__name__}: {str(exc)[:60]}"
    return time.perf_counter() - t, outcome


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--random", type=int, default=300)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--top", type=int, default=25)
    args = ap.parse_args()
    cases = hand_picked() + hunt(random.Random(args.seed), args.random)
    rows = []
    for name, kwargs in cases:
        raw, _ = run(kwargs, None)
        capped, outcome = run(kwargs, 1.0)
        rows.append((raw, capped, name, outcome))
    rows.sort(key=lambda r: -max(r[0], r[1]))
    table = Table("case", "no budget s", "with budget s", "outcome with budget",
                  title=f"slowest {args.top} of {len(rows)} plans (hand-picked + random, seed {args.seed})")
    for raw, capped, name, outcome in rows[: args.top]:
        table.add_row(name, f"{raw:.3f}", f"{capped:.3f}", outcome)
    console = Console(width=180)
    console.print(table)
    for raw, capped, name, outcome in rows:
        if outcome.startswith("BUG"):
            console.print(f"[red]{name}: {outcome}[/red]")
    worst = max(r[1] for r in rows)
    console.print(f"worst with the budget: {worst:.3f} s (goal <= 1 s): {'met' if worst <= 1.0 else 'MISSED'}; "
                  f"worst without: {max(r[0] for r in rows):.3f} s")


if __name__ == "__main__":
    main()
