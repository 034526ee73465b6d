"""python -m bench.attacks: every attack of issue 23 against a real server; one table."""

from __future__ import annotations

import json
import time

from bench.attacks import delivery, keys
from bench.attacks.harness import Target

# What the issue measured before the fixes (its text), next to each figure measured now.
BEFORE = {
    "trickle attempt held (s)": "85",
    "healthy delay behind the trickler (s)": "43",
    "healthy delay, 20 of 60 hanging: p50 (s)": "91",
    "healthy delay, 20 of 60 hanging: max (s)": "183",
    "final-state event delay while they hang (s)": "33 (a sweep's completion)",
    "API RSS before a 200 MB answer (MB)": "136",
    "API RSS after (MB)": "341",
    "healthy delivery delay behind 50 stored poison items (s)": "~150 (44 items)",
    "stored poison items counted as failed attempts": "0 (never counted)",
    "200 wrong keys on /readyz: answers": "no 429",
    "200 wrong keys on /ui: answers": "no 429",
    "then the right key on /readyz": "200 (while throttled elsewhere)",
    "B lists A's profile": "True",
    "B reads A's record": "200",
    "B sees A's callback URL/token on a shared profile": "True",
    "B cancels A's job": "HTTP 202",
    "A's DELETE of the shared profile": "cancelled B's request",
    "callback tokens in the API's log": "every attempt (httpx INFO)",
}


def main() -> None:
    rows = []
    for name, attack in (("slow receivers", delivery.slow_receivers), ("huge answer", delivery.huge_answer),
                         ("poison URLs", delivery.poison_urls), ("key guessing", keys.guesses),
                         ("two keys", keys.two_keys)):
        target = Target()
        started = time.monotonic()
        try:
            figures = attack(target)
        finally:
            target.close()
        print(f"# {name}: {time.monotonic() - started:.0f} s", flush=True)
        rows += [(name, k, json.dumps(v) if isinstance(v, dict) else str(v), BEFORE.get(k, "-")) for k, v in figures.items()]
    width = max(len(r[1]) for r in rows)
    print(f"\n| attack | figure{' ' * (width - 6)} | now | issue (before) |")
    print(f"|---|{'-' * (width + 2)}|---|---|")
    for attack, key, now, before in rows:
        print(f"| {attack} | {key:<{width}} | {now} | {before} |")


if __name__ == "__main__":
    main()
