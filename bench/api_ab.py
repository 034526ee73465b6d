"""A/B of distinct POST /plan latency between two checkouts, request by request (a noisy VM).

This VM's speed drifts by tens of percent from minute to minute, so two runs of api_bench.py
minutes apart cannot tell a 10 % change. Here one `fastscale serve --workers 0` per checkout runs
on the same Redis (each under its own key prefix); one client sends api_bench's distinct requests
(RegNetY-400MF, EfficientNet-B0, ResNet-50 under dWr, factors from 1.5x), each request to both
servers in turn (alternating which goes first). Per round: both p50s and the median per-request
ratio B/A. Alternating keeps both servers' caches colder than a run alone, so the p50s here are
higher than api_bench.py's; the ratio is the figure to read.

    python bench/api_ab.py OLD_CHECKOUT [NEW_CHECKOUT (default: this one)] [--rounds 4] [--requests 300]

(``git worktree add --detach /tmp/base <commit>`` makes an old checkout.)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.api_bench import Conn, distinct_plan, load_note, wait_http  # noqa: E402
from service.redis.embedded import EmbeddedRedis, free_port  # noqa: E402


def serve(checkout: Path, port: int, redis_url: str, prefix: str) -> subprocess.Popen:
    env = {**os.environ, "REDIS_URL": redis_url, "PYTHONPATH": str(checkout), "OMP_NUM_THREADS": "1",
           "FASTSCALE_KEY_PREFIX": prefix, "FASTSCALE_RATE_LIMIT_PER_MINUTE": "0"}
    cmd = [sys.executable, "-c", "from cli.main import main; main()", "serve", "--port", str(port), "--workers", "0"]
    return subprocess.Popen(cmd, env=env, cwd=checkout, stderr=subprocess.DEVNULL)


async def alternate(ports: list[int], requests: int, offset: int) -> list[list[float]]:
    """Each request to both servers, consecutively; seconds per request, per server."""
    conns = [await Conn(port).open() for port in ports]
    seconds: list[list[float]] = [[] for _ in ports]
    for i in range(requests):
        method, path, body = distinct_plan(offset + i)
        for k in (0, 1) if i % 2 == 0 else (1, 0):
            started = time.perf_counter()
            status, _ = await conns[k].request(method, path, body)
            seconds[k].append(time.perf_counter() - started)
            if status != 200:
                raise RuntimeError(f"{method} {path} answered {status} on server {k}")
    for conn in conns:
        conn.writer.close()
    return seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("a", type=Path, help="checkout A (the base)")
    ap.add_argument("b", type=Path, nargs="?", default=ROOT, help="checkout B (default: this one)")
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--requests", type=int, default=300, help="distinct requests per round")
    args = ap.parse_args()
    checkouts = [args.a.resolve(), args.b.resolve()]
    table = Table("round", "A p50 ms", "B p50 ms", "median B/A per request",
                  title=f"distinct POST /plan, A = {checkouts[0]}, B = {checkouts[1]}")
    with tempfile.TemporaryDirectory() as tmp, EmbeddedRedis(tmp) as redis_server:
        ports = [free_port(), free_port()]
        procs = [serve(c, p, redis_server.url, f"ab{k}") for k, (c, p) in enumerate(zip(checkouts, ports))]
        try:
            for port, proc in zip(ports, procs):
                wait_http(f"http://127.0.0.1:{port}/healthz", proc=proc)
            asyncio.run(alternate(ports, 20, 10**6))  # warm-up, as api_bench.py does
            for r in range(args.rounds):
                a, b = asyncio.run(alternate(ports, args.requests, r * 10 * args.requests))
                ratio = statistics.median(y / x for x, y in zip(a, b))
                table.add_row(str(r + 1), f"{1e3 * statistics.median(a):.2f}", f"{1e3 * statistics.median(b):.2f}",
                              f"{ratio:.3f}")
        finally:
            for proc in procs:
                proc.terminate()
                proc.wait(10)
    console = Console(width=120)
    console.print(table)
    console.print(load_note())


if __name__ == "__main__":
    main()
