"""Load: N concurrent clients against `fastscale serve` with two workers (loopback, bounded).

Each client sends a mix of new requests (a model never asked before), duplicates (the same new
request again, maybe while it is still queued) and cached requests (already measured). Reports
throughput, p50/p99 latency and errors, then waits for every accepted id and checks that each
ended finished exactly once: nothing lost (no id left queued or failed), nothing duplicated (run 1,
attempt 1, and the store's finished count equals the number of distinct ids).
Run: python bench/load.py [--clients 16] [--requests 400] [--distinct 24] [--seconds 120]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import redis

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from service.redis.embedded import free_port  # noqa: E402
from service.polling import poll_until  # noqa: E402
from service.profiles.store import DONE, ProfileStore  # noqa: E402


def spec(i: int) -> dict:
    return {"family": "anynet", "stem_type": "simple_stem_in", "stem_w": 8, "block_type": "res_bottleneck_block",
            "depths": [1, 1], "widths": [16, 32], "strides": [2, 2], "bot_muls": [1.0, 1.0], "group_ws": [8, 8],
            "num_classes": 10 + i}


def body(i: int) -> dict:
    return {"spec": spec(i), "factor": 1, "profile": {"device": "cpu", "batch_size": 2, "time_budget_s": 0.2,
                                                        "modes": ["inference"]}}


async def run_load(base: str, clients: int, total: int, distinct: int, seconds: float, warm: int) -> dict:
    latencies, errors, accepted, kinds = [], 0, set(), {"new": 0, "duplicate": 0, "cached": 0}
    rng = random.Random(0)
    next_new = iter(range(warm, distinct))
    issued = []
    budget = iter(range(total))
    deadline = time.monotonic() + seconds

    async def client() -> None:
        nonlocal errors
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            for _ in budget:
                if time.monotonic() > deadline:
                    return
                roll = rng.random()
                if roll < 0.15 and (i := next(next_new, None)) is not None:
                    kind = "new"
                    issued.append(i)
                elif roll < 0.5 and issued:
                    kind, i = "duplicate", rng.choice(issued)
                else:
                    kind, i = "cached", rng.randrange(warm)
                kinds[kind] += 1
                t = time.perf_counter()
                r = await http.post("/scale", json=body(i))
                latencies.append(time.perf_counter() - t)
                if r.status_code in (200, 202):
                    accepted.add(r.json()["id"])
                else:
                    errors += 1

    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    elapsed = time.perf_counter() - start
    xs = sorted(latencies)
    return {"n": len(xs), "errors": errors, "rps": len(xs) / elapsed, "p50_ms": 1e3 * xs[len(xs) // 2],
            "p99_ms": 1e3 * xs[min(len(xs) - 1, int(0.99 * len(xs)))], "accepted": accepted, "kinds": kinds}


def start_serve(tmp: str, port: int) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env.update(PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", FASTSCALE_WORKER_DEVICE="cpu",
               FASTSCALE_RATE_LIMIT_PER_MINUTE="0", FASTSCALE_LOG_JSON="true")
    return subprocess.Popen([sys.executable, "-m", "cli", "serve", "--port", str(port), "--data-dir", tmp,
                             "--workers", "2"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def live_workers(base: str) -> int:
    try:
        return sum(httpx.get(base + "/readyz", timeout=1).json().get("workers", {}).values())
    except (httpx.HTTPError, ValueError):
        return 0


def wait_all(http: httpx.Client, ids, timeout: float) -> dict:
    """Every id's record, once all are finished or failed (or as they are at the timeout)."""
    return poll_until(lambda: {pid: http.get(f"/profile/{pid}").json() for pid in ids},
                      lambda final: all(r["status"] in DONE for r in final.values()), timeout)


def report(args, result: dict, final: dict, stats: dict) -> bool:
    statuses = [r["status"] for r in final.values()]
    once = all(r["status"] == "finished" and r["run"] == 1 and r["attempt"] == 1 for r in final.values())
    print(f"fastscale load on loopback: {args.clients} clients, `fastscale serve` with 2 CPU workers")
    print(f"{'requests':>9} {'errors':>7} {'req/s':>7} {'p50 ms':>8} {'p99 ms':>8} {'new':>5} {'dup':>5} {'cached':>7}"
          f" {'ids':>5} {'finished':>9} {'jobs run':>9}")
    k = result["kinds"]
    print(f"{result['n']:9d} {result['errors']:7d} {result['rps']:7.0f} {result['p50_ms']:8.2f} {result['p99_ms']:8.2f}"
          f" {k['new']:5d} {k['duplicate']:5d} {k['cached']:7d} {len(final):5d} {statuses.count('finished'):9d}"
          f" {int(stats.get('jobs_finished', 0)):9d}")
    lost = len(final) - statuses.count("finished")
    duplicated = int(stats.get("jobs_finished", 0)) - len(final)
    ok = once and lost == 0 and duplicated == 0
    print(f"lost: {lost}, duplicated: {duplicated}, every accepted id finished exactly once: {ok}")
    return ok and result["errors"] == 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--requests", type=int, default=400)
    ap.add_argument("--distinct", type=int, default=24, help="distinct models in all (the first few pre-measured)")
    ap.add_argument("--seconds", type=float, default=120, help="time cap for sending")
    args = ap.parse_args()
    warm = 4
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        serve = start_serve(tmp, port)
        base = f"http://127.0.0.1:{port}"
        try:
            poll_until(lambda: live_workers(base), lambda n: n >= 2, 60, every=0.2)
            http = httpx.Client(base_url=base, timeout=30)
            wait_all(http, [http.post("/scale", json=body(i)).json()["id"] for i in range(warm)], 300)  # the cached part
            result = asyncio.run(run_load(base, args.clients, args.requests, args.distinct, args.seconds, warm))
            final = wait_all(http, result["accepted"], 300)
            stats = ProfileStore(redis.Redis.from_url(f"unix://{tmp}/redis.sock?db=0"), "fastscale").stats()
        finally:
            serve.send_signal(signal.SIGTERM)
            serve.wait(60)
    return 0 if report(args, result, final, stats) else 1


if __name__ == "__main__":
    sys.exit(main())
