"""A/B of nearest planning between two checkouts, interleaved case by case (robust to a noisy VM).

This VM's speed drifts by tens of percent from minute to minute, so two bench runs minutes apart
cannot tell a 10 % change. Here two worker processes, one per checkout, plan the same grid cases
in turn (alternating which goes first), each case cold and best of three, and the table gives
both p50s and the median per-case ratio B/A.

    python bench/plan_ab.py OLD_CHECKOUT [NEW_CHECKOUT (default: this one)] [--every 3]

(``git worktree add --detach /tmp/base <commit>`` makes an old checkout.)
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

WORKER = """
import sys, time
sys.path[:0] = [sys.argv[1], sys.argv[1] + "/bench"]
from plan_bench import clear_caches, grid
from fastscale import zoo
from fastscale.planning.planner import make_plan
cases = grid([n for n in zoo.names() if not hasattr(zoo.get(n).spec, "dims")], 1)  # the grid both checkouts have
for line in sys.stdin:
    best = float("inf")
    for _ in range(3):
        clear_caches()
        t = time.perf_counter()
        make_plan(rounding="nearest", **cases[int(line)])
        best = min(best, time.perf_counter() - t)
    print(best * 1e3, flush=True)
"""


def worker(checkout: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", WORKER, checkout], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)


def ask(proc: subprocess.Popen, case: int) -> float:
    proc.stdin.write(f"{case}\n")
    proc.stdin.flush()
    return float(proc.stdout.readline())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("a", help="the checkout to compare against (A)")
    ap.add_argument("b", nargs="?", default=str(ROOT), help="the checkout under test (B)")
    ap.add_argument("--every", type=int, default=3, help="every n-th case of the 4,320-case grid")
    args = ap.parse_args()
    a, b = worker(args.a), worker(args.b)
    times_a, times_b = [], []
    for case in range(0, 4320, args.every):
        first, second = ((a, times_a), (b, times_b)) if case % 2 else ((b, times_b), (a, times_a))
        for proc, out in (first, second):
            out.append(ask(proc, case))
    for proc in (a, b):
        proc.stdin.close()
        proc.wait(10)
    ratio = statistics.median(tb / ta for ta, tb in zip(times_a, times_b))
    print("| checkout | cases | p50 ms |")
    print("|---|---|---|")
    print(f"| A {args.a} | {len(times_a)} | {statistics.median(times_a):.3f} |")
    print(f"| B {args.b} | {len(times_b)} | {statistics.median(times_b):.3f} |")
    print(f"median per-case ratio B/A: {ratio:.3f}")


if __name__ == "__main__":
    main()
