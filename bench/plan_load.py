"""Planning load: N concurrent expensive, uncached /plan requests against `fastscale serve`, and
what the rest of the API does meanwhile (issue 13, item 2).

While the burst runs, /healthz, /models, /metrics and a cached /plan are timed from one client.
Prints a table: the burst's status counts and latencies, and the probes' p50/max latencies.
The expensive request is a valid custom AnyNet (16 stages of width 262144, group width 8192,
bottleneck 1/16) that took 46-80 s to plan before the core bounded planning.
``--zoo``: instead, ``--burst`` clients each send distinct zoo plans (cheap, ~1 ms, planned on
the event loop while its gate allows: service.planning.inline) back to back for the whole probe.
Run: python bench/plan_load.py [--zoo] [--burst 40] [--plan-workers 2] [--plan-backlog 8] [--timeout 10]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from service.redis.embedded import free_port  # noqa: E402

SLOW = {"family": "anynet", "stem_type": "simple_stem_in", "stem_w": 32, "block_type": "res_bottleneck_block",
        "depths": [1] * 16, "widths": [262144] * 16, "strides": [1] * 16, "bot_muls": [0.0625] * 16,
        "group_ws": [8192] * 16, "se_r": 0.0}
ZOO = ("RegNetY-400MF", "EfficientNet-B0", "ResNet-50")
PROBES = (("GET", "/healthz", None), ("GET", "/models", None), ("GET", "/metrics", None),
          ("POST", "/plan", {"model": "ResNet-50", "factor": 2}))


def start_server(args, data_dir: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "FASTSCALE_DATA_DIR": data_dir, "FASTSCALE_PLAN_WORKERS": str(args.plan_workers),
           "FASTSCALE_PLAN_BACKLOG": str(args.plan_backlog), "FASTSCALE_PLAN_TIMEOUT_S": str(args.timeout),
           "FASTSCALE_RATE_LIMIT_PER_MINUTE": "0", "PYTHONPATH": str(ROOT)}
    env.pop("REDIS_URL", None)
    proc = subprocess.Popen([sys.executable, "-m", "cli.main", "serve", "--port", str(port), "--workers", "0"],
                            env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the server did not start")


def burst(url: str, n: int, results: list, zoo_until: float | None = None) -> list[threading.Thread]:
    """n concurrent expensive plans; with ``zoo_until`` (a monotonic deadline), n clients sending
    distinct zoo plans back to back until then."""
    client = httpx.Client(base_url=url, timeout=120, limits=httpx.Limits(max_connections=n + 5))

    def post(body: dict) -> None:
        started = time.perf_counter()
        try:
            code = client.post("/plan", json=body).status_code
        except httpx.HTTPError as exc:
            code = type(exc).__name__
        results.append((code, time.perf_counter() - started))

    def one(i: int) -> None:
        if zoo_until is None:
            return post({"spec": SLOW, "factor": 2 + i / 100})
        k = 0
        while time.monotonic() < zoo_until:
            post({"model": ZOO[(i + k) % len(ZOO)], "strategy": "dWr", "factor": 1.5 + i * 1e-3 + k * 1e-6})
            k += 1

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    return threads


def probe(url: str, seconds: float) -> dict[str, list[float]]:
    client = httpx.Client(base_url=url, timeout=30)
    times: dict[str, list[float]] = {f"{m} {p}": [] for m, p, _ in PROBES}
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for method, path, body in PROBES:
            started = time.perf_counter()
            try:
                ok = client.request(method, path, json=body).status_code == 200
            except httpx.HTTPError:
                ok = False
            times[f"{method} {path}"].append(time.perf_counter() - started if ok else float("inf"))
        time.sleep(0.05)
    return times


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--burst", type=int, default=40)
    ap.add_argument("--plan-workers", type=int, default=2)
    ap.add_argument("--plan-backlog", type=int, default=8)
    ap.add_argument("--timeout", type=float, default=10.0)
    ap.add_argument("--seconds", type=float, default=8.0, help="how long to probe during the burst")
    ap.add_argument("--zoo", action="store_true", help="a storm of distinct cheap zoo plans instead")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as data_dir:
        proc, url = start_server(args, data_dir)
        try:
            httpx.post(url + "/plan", json=PROBES[-1][2], timeout=30)  # cached before the burst
            results: list = []
            threads = burst(url, args.burst, results, time.monotonic() + args.seconds if args.zoo else None)
            times = probe(url, args.seconds)
            for t in threads:
                t.join(args.timeout + 30)
        finally:
            proc.terminate()
            proc.wait(30)
    what = f"{args.burst} clients of distinct zoo /plan for {args.seconds:g} s" if args.zoo else \
        f"{args.burst} expensive /plan"
    print(f"burst: {what}, plan workers {args.plan_workers}, backlog {args.plan_backlog}, timeout {args.timeout:g} s")
    for code, n in sorted(Counter(str(c) for c, _ in results).items()):
        lat = [s for c, s in results if str(c) == code]
        print(f"  {code:>16}: {n:3d}  median {statistics.median(lat):7.3f} s  max {max(lat):7.3f} s")
    print(f"{'probe during the burst':<24} {'n':>4} {'p50 ms':>9} {'max ms':>9} {'failed':>7}")
    for name, lat in times.items():
        ok = [s * 1000 for s in lat if s != float("inf")]
        p50 = f"{statistics.median(ok):9.1f}" if ok else f"{'-':>9}"
        peak = f"{max(ok):9.1f}" if ok else f"{'-':>9}"
        print(f"{name:<24} {len(lat):4d} {p50} {peak} {len(lat) - len(ok):7d}")


if __name__ == "__main__":
    main()
