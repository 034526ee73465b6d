"""find_max_batch starts at the memory model's predicted largest batch and brackets from there
(issue 10, requirement 2): fewer trial steps than the full search (doubling from 1, then
bisection), the same answer. A real tiny model, a real memory cap (RLIMIT_DATA) on CPU, run in a
process of its own (tests/workers/max_batch_probe.py says why each trial runs in a forked child)."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

from workers.profiler import find_max_batch, largest_batch

ROOT = Path(__file__).resolve().parents[2]


def test_the_search_from_the_prediction_needs_fewer_steps_and_finds_the_same_batch():
    out = subprocess.run([sys.executable, "-m", "tests.workers.max_batch_probe", str(128 * 2**20), "32"],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    full, predicted = got["tried"]["full"], got["tried"]["predicted"]
    assert got["found"] == got["full"] > 100, got
    assert len(predicted) <= 14, got  # 13 here: the model over-predicts this CPU cap by 17 %
    assert len(predicted) < len(full), got


def test_an_exact_prediction_takes_two_steps_and_any_prediction_finds_the_answer():
    rng = random.Random(0)
    for _ in range(3000):
        limit, cap = rng.randint(1, 5000), rng.randint(0, 5100)
        start = rng.randint(0, 6000)
        bracket = (rng.randint(0, start + 1), rng.randint(start, 2 * start + 2))
        steps = []

        def fits(b: int) -> bool:
            assert 1 <= b <= limit
            steps.append(b)
            return b <= cap

        assert find_max_batch(fits, start, bracket, limit) == min(cap, limit) == largest_batch(fits, 1, limit)
    steps.clear()
    assert find_max_batch(lambda b: steps.append(b) or b <= 700, 700, (600, 800), 4096) == 700 and steps == [700, 701]
