"""Listing speed with 100,000 indexed profiles (issue 12 goal: a filtered page answers p50 <= 10 ms).

Starts its own Redis (never a shared one), writes N profile records with the same transition hook
the store uses (so the indexes are exactly the production ones), then times pages two ways:
``service`` (service.listing.pages.page: the Lua search with the page's stored summary lines, parsed into
dicts as the /ui wants them) and ``http`` (GET /profiles against the real API under uvicorn,
keep-alive client; the API sends the stored lines as they are). Prints a table.

    .venv/bin/python bench/listing_bench.py [--profiles 100000] [--repeats 200]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from fastscale import zoo  # noqa: E402
from service.redis.embedded import EmbeddedRedis, free_port  # noqa: E402
from service.redis.keys import Keys  # noqa: E402
from service.listing.pages import Query, page  # noqa: E402
from service.listing.summaries import profile_summary  # noqa: E402
from service.profiles.transitions import on_profile_transition  # noqa: E402

STRATEGIES = ["d", "w", "r", "dw", "dr", "wr", "dwr", "dWr"]
CLASSES = ["cuda-nvidia-h200", "cuda-nvidia-h100-80gb-hbm3", "cpu-amd-epyc-9454"]
STATUSES = ["finished"] * 16 + ["failed"] * 2 + ["queued", "cancelled"]
NOW = datetime.now(timezone.utc)


def record(i: int, rng: random.Random) -> dict:
    created = NOW - timedelta(seconds=rng.uniform(0, 30 * 86400))
    status = rng.choice(STATUSES)
    plan = {"base": {"name": rng.choice(zoo.names())}, "strategy": {"name": rng.choice(STRATEGIES)},
            "requested_factor": rng.choice([1, 2, 4, 8, 16]), "achieved_factor": 1.0, "resolution": 224,
            "complexity": {"flops": rng.randrange(10**8, 10**11), "params": 10**7, "acts": 10**7}}
    rec = {"id": f"{i:032x}", "status": status, "run": 1, "plan": plan, "device_class": rng.choice(CLASSES),
           "profile": {"batch_size": rng.choice([8, 32, 64, 128]), "dtype": rng.choice(["float32", "bfloat16", "float16"]),
                       "modes": ["inference", "training"]},
           "created_at": created.isoformat(timespec="milliseconds"), "finished_at": None,
           "result": {"inference": {"median_ms": rng.uniform(1, 50)}} if status == "finished" else None}
    return rec


def fill(r, keys: Keys, n: int) -> float:
    """Write n records and their index entries (the store's hook), in pipelines; seconds taken."""
    rng = random.Random(12)
    started = time.perf_counter()
    for start in range(0, n, 2000):
        pipe = r.pipeline(transaction=False)
        for i in range(start, min(n, start + 2000)):
            rec = record(i, rng)
            pipe.set(keys.profile(rec["id"]), __import__("json").dumps(rec))
            on_profile_transition(pipe, keys, rec["id"], None, rec, None)
        pipe.execute()
    return time.perf_counter() - started


def cases() -> list[tuple[str, dict]]:
    week = (NOW - timedelta(days=7)).isoformat()
    return [
        ("no filter", {}),
        ("model", {"model": "RegNetY-400MF"}),
        ("model + status", {"model": "RegNetY-400MF", "status": "finished"}),
        ("model + strategy + batch", {"model": "ResNet-50", "strategy": "dWr", "batch_size": 64}),
        ("class + dtype + since 7 d", {"device_class": "cuda-nvidia-h200", "dtype": "bfloat16", "since": week}),
        ("rare: cancelled + model", {"status": "cancelled", "model": "EfficientNet-B0"}),
        ("5 filters (few matches)", {"model": "ResNet-50", "strategy": "w", "dtype": "float16", "batch_size": 128,
                                     "status": "failed"}),
    ]


def timed(fn, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1e3)
    return out


def row(name: str, how: str, times: list[float], items: int) -> str:
    q = statistics.quantiles(times, n=100)
    return f"| {name:<26} | {how:<7} | {items:>5} | {statistics.median(times):7.2f} | {q[89]:7.2f} | {q[98]:7.2f} |"


def service_rows(r, keys: Keys, repeats: int) -> list[str]:
    lines = []
    for name, filters in cases():
        since = filters.pop("since", None)
        q = Query("profile", filters, since=since, limit=50)
        items = len(page(r, keys, q, profile_summary)["items"])
        lines.append(row(name, "service", timed(lambda: page(r, keys, q, profile_summary), repeats), items))
        filters["since"] = since
    deep = {"cursor": None}

    def next_page():
        got = page(r, keys, Query("profile", {"model": "RegNetY-400MF"}, cursor=deep["cursor"], limit=50), profile_summary)
        deep["cursor"] = got["next"]

    lines.append(row("model, pages 1..200 deep", "service", timed(next_page, min(repeats, 200)), 50))
    return lines


def http_rows(port: int, repeats: int) -> list[str]:
    """Over HTTP with a lean keep-alive client (the standard library's): the figure is the
    server's answer time plus loopback, not a heavy client's own overhead (httpx adds ~1-3 ms a
    request on this 2-vCPU VM, more than Redis does)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)

    def get(path: str) -> bytes:
        conn.request("GET", path)
        response = conn.getresponse()
        body = response.read()
        assert response.status == 200, (response.status, body[:200])
        return body

    lines = [row("baseline: GET /healthz", "http", timed(lambda: get("/healthz"), repeats), 0)]
    for name, filters in cases():
        path = "/profiles?" + urllib.parse.urlencode({k: v for k, v in filters.items() if v is not None})
        items = len(json.loads(get(path))["items"])
        lines.append(row(name, "http", timed(lambda: get(path), repeats), items))
    conn.close()
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profiles", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=200)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp, EmbeddedRedis(Path(tmp), port=free_port(), appendonly=False) as server:
        r, keys = server.client(), Keys("bench")
        took = fill(r, keys, args.profiles)
        print(f"{args.profiles} profiles indexed in {took:.1f} s; {os.cpu_count()} CPUs, "
              f"load average {os.getloadavg()[0]:.2f}; times in ms over {args.repeats} requests, limit 50")
        print("| case                       | path    | items |     p50 |     p90 |     p99 |")
        print("|----------------------------|---------|-------|---------|---------|---------|")
        for line in service_rows(r, keys, args.repeats):
            print(line)
        port = free_port()
        env = {**os.environ, "REDIS_URL": server.url, "FASTSCALE_KEY_PREFIX": "bench", "FASTSCALE_LOG_JSON": "false",
               "PYTHONPATH": str(ROOT)}
        # The API as production runs it (`fastscale serve`: guarded httptools protocol, uvloop),
        # on the bench's Redis, no local workers; its access log is discarded.
        serve = [sys.executable, "-c", "from cli.main import main; main()", "serve", "--port", str(port), "--workers", "0"]
        api = subprocess.Popen(serve, env=env, cwd=ROOT, stderr=subprocess.DEVNULL)
        try:
            for _ in range(300):
                if api.poll() is not None:
                    raise SystemExit(f"the API exited (code {api.returncode}) before answering /healthz")
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            for line in http_rows(port, args.repeats):
                print(line)
        finally:
            api.terminate()
            api.wait(20)


if __name__ == "__main__":
    main()
