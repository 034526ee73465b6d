"""Write or check the golden record of plans over the full grid (tests check a subset in CI).

Run: ``python bench/plan_golden.py`` to re-plan every case and compare bit for bit (prints the
cases that differ and the time per rounding); ``--write`` to freeze the current results;
``--write-custom`` to draw the random custom specs (seed 20240611) and freeze their plans.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.core.planning import golden_grid  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true", help="freeze today's plans as the golden record")
    ap.add_argument("--write-custom", action="store_true", help="draw random custom specs, freeze their plans")
    args = ap.parse_args()
    if args.write_custom:
        return write_custom()
    got, times = {}, {r: [] for r in golden_grid.ROUNDINGS}
    for key, kwargs in golden_grid.cases():
        t = time.perf_counter()
        got[key] = golden_grid.digest(kwargs)
        times[kwargs["rounding"]].append(time.perf_counter() - t)
    for rounding, ts in times.items():
        print(f"{rounding:8s} {len(ts)} cases  p50 {statistics.median(ts) * 1e3:.2f} ms  "
              f"max {max(ts) * 1e3:.1f} ms  total {sum(ts):.1f} s")
    if args.write:
        golden_grid.GOLDEN_PATH.write_text(json.dumps(golden_grid.dump(got), indent=0) + "\n")
        print(f"wrote {len(got)} cases to {golden_grid.GOLDEN_PATH}")
        return 0
    want = golden_grid.load()
    doc = json.loads(golden_grid.CUSTOM_PATH.read_text())
    custom = golden_grid.custom_cases(doc["specs"])
    want.update(zip((k for k, _ in custom), doc["digests"].split()))
    got.update((k, golden_grid.digest(kwargs)) for k, kwargs in custom)
    bad = [k for k in want if got.get(k) != want[k]]
    missing = sorted(set(got) ^ set(want))
    for k in bad[:50]:
        print("DIFFERS", k)
    print(f"{len(want) - len(bad)}/{len(want)} cases identical; {len(missing)} keys not in both")
    return 1 if bad or missing else 0


def write_custom(n: int = 150, seed: int = 20240611) -> int:
    from fastscale.errors import ScalingError
    from fastscale.planning.planner import resolve_base

    rng = random.Random(seed)
    specs = []
    while len(specs) < n:
        spec = golden_grid.random_spec(rng)
        try:
            resolve_base(spec=spec)
        except ScalingError:
            continue
        pairs = {(rng.choice(golden_grid.CUSTOM_LABELS), rng.choice([0.3, 0.7, 1.7, 2.5, 5, 10, 30])) for _ in range(3)}
        specs.append({"spec": spec, "resolution": rng.choice([32, 57, 64, 97, 128, 224]), "cases": sorted(pairs)})
    digests = [golden_grid.digest(kwargs) for _, kwargs in golden_grid.custom_cases(specs)]
    doc = {"about": f"random valid specs (tests/core/golden_grid.random_spec, seed {seed}) and the sha256[:8] "
                    "of each case's plan, frozen before the bulk search; see tests/core/planning/golden_grid.py",
           "specs": specs, "digests": " ".join(digests)}
    golden_grid.CUSTOM_PATH.write_text(json.dumps(doc, separators=(",", ":")) + "\n")
    print(f"wrote {len(digests)} cases of {n} specs to {golden_grid.CUSTOM_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
