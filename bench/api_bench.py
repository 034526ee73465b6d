"""API latency and throughput on loopback (bounded in requests and time).

Starts an embedded Redis, the fastscale API (uvicorn, one process), a bare FastAPI app with a
constant endpoint (uvicorn, one process), and one real CPU worker that measures a tiny model so
GET /profile has a genuinely cached result. Then, with a minimal keep-alive HTTP/1.1 client
(cheap, so the client is not the bottleneck):
  - POST /plan latency p50/p99 at 1 and 32 concurrent clients, for a repeated request (memoised
    plan) and for distinct requests (every plan computed afresh);
  - cached GET /profile/{id} throughput vs the bare constant endpoint, same run, same client.
Goals (issue #3): /plan p50 <= 5 ms; GET /profile throughput ratio >= 0.7.
``--plan-only``: just the issue 11 measurement: 300 distinct POST /plan requests (RegNetY-400MF,
EfficientNet-B0 and ResNet-50 under dWr at factors 1.5-2.5x, each answer with its memory object)
from one client to one `fastscale serve` API process (uvicorn); goal p50 <= 3 ms. Rate limiting is off
(FASTSCALE_RATE_LIMIT_PER_MINUTE=0) so no request is refused for arriving fast.
Run: python bench/api_bench.py [--requests 2000] [--seconds 20] [--plan-only [--distinct 300]]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from service.redis.embedded import EmbeddedRedis, free_port  # noqa: E402
from service.polling import poll_until, wait_until  # noqa: E402

TINY = {"family": "anynet", "stem_type": "simple_stem_in", "stem_w": 8, "block_type": "res_bottleneck_block",
        "depths": [1, 1], "widths": [16, 32], "strides": [2, 2], "bot_muls": [1.0, 1.0], "group_ws": [8, 8],
        "num_classes": 10}


class Conn:
    """One keep-alive HTTP/1.1 connection."""

    def __init__(self, port: int):
        self.port = port

    async def open(self) -> "Conn":
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        return self

    async def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        head = (f"{method} {path} HTTP/1.1\r\nHost: bench\r\nContent-Length: {len(body)}\r\n"
                f"Content-Type: application/json\r\n\r\n").encode()
        self.writer.write(head + body)
        status_line = await self.reader.readline()
        length = 0
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        data = await self.reader.readexactly(length)
        return int(status_line.split()[1]), data


async def drive(port: int, make_request, clients: int, total: int, seconds: float) -> dict:
    latencies: list[float] = []
    errors = 0
    counter = iter(range(total))
    deadline = time.monotonic() + seconds

    async def client() -> None:
        nonlocal errors
        conn = await Conn(port).open()
        for i in counter:
            if time.monotonic() > deadline:
                break
            method, path, body = make_request(i)
            t = time.perf_counter()
            status, _ = await conn.request(method, path, body)
            latencies.append(time.perf_counter() - t)
            errors += status >= 400
        conn.writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    elapsed = time.perf_counter() - start
    xs = sorted(latencies)
    return {"n": len(xs), "errors": errors, "rps": len(xs) / elapsed,
            "p50_ms": 1e3 * xs[len(xs) // 2], "p99_ms": 1e3 * xs[min(len(xs) - 1, int(len(xs) * 0.99))]}


def wait_http(url: str, timeout: float = 30, proc: subprocess.Popen | None = None) -> None:
    """Wait for ``url`` to answer; fail at once if ``proc`` (the server) has exited."""
    def up() -> bool:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the server exited (code {proc.returncode}) before {url} answered")
        try:
            httpx.get(url, timeout=1)
            return True
        except httpx.HTTPError:
            return False

    wait_until(up, bool, timeout, what=url)


def start(env: dict, api_port: int, bare_port: int) -> list[subprocess.Popen]:
    """The API and the bare app (one uvicorn process each) and one CPU worker."""
    uv = [sys.executable, "-m", "uvicorn", "--log-level", "warning", "--no-access-log"]
    return [subprocess.Popen(uv + ["app.main:create_app", "--factory", "--port", str(api_port)], env=env, cwd=ROOT),
            subprocess.Popen(uv + ["bench.bare_app:app", "--port", str(bare_port)], env=env, cwd=ROOT),
            subprocess.Popen([sys.executable, "-m", "workers.run", "--device-class", "cpu-bench", "--kind", "cpu"],
                             env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]


def cached_profile(api: httpx.Client) -> str:
    """Measure a tiny model once, so GET /profile/{id} has a genuinely cached result; its id."""
    poll_until(lambda: api.get("/readyz").json().get("workers"), bool, 20, every=0.2)
    body = {"spec": TINY, "factor": 2, "profile": {"device": "cpu-bench", "batch_size": 2, "time_budget_s": 0.5}}
    pid = api.post("/scale", json=body).json()["id"]
    done = wait_until(lambda: api.get(f"/profile/{pid}").json(), lambda r: r["status"] in ("finished", "failed"), 300,
                      every=0.2, what=f"profile {pid}")
    assert done["status"] == "finished"
    return pid


def measure_all(api_port: int, bare_port: int, pid: str, args) -> list[tuple[str, int, dict]]:
    same = json.dumps({"model": "EfficientNet-B0", "strategy": "dWr", "factor": 4}).encode()
    fresh = iter(range(10**9))

    def plan_same(_i):
        return "POST", "/plan", same

    def plan_fresh(_i):  # a factor never asked before: the plan is computed, not memoised
        return "POST", "/plan", json.dumps({"model": "EfficientNet-B0", "strategy": "dWr",
                                            "factor": 1.5 + next(fresh) * 1e-5}).encode()

    rows = []
    for name, fn in (("POST /plan (repeated, memoised)", plan_same), ("POST /plan (distinct requests)", plan_fresh)):
        for clients in (1, 32):
            rows.append((name, clients, asyncio.run(drive(api_port, fn, clients, args.requests, args.seconds))))
    profile = asyncio.run(drive(api_port, lambda i: ("GET", f"/profile/{pid}", b""), 32, args.requests, args.seconds))
    bare = asyncio.run(drive(bare_port, lambda i: ("GET", "/constant", b""), 32, args.requests, args.seconds))
    return rows + [("GET /profile/{id} (cached)", 32, profile), ("bare FastAPI constant", 32, bare)]


DISTINCT_MODELS = ("RegNetY-400MF", "EfficientNet-B0", "ResNet-50")


def distinct_plan(i: int) -> tuple[str, str, bytes]:
    """The i-th distinct /plan request: a model in turn, a factor never asked before in 1.5-2.5x."""
    body = {"model": DISTINCT_MODELS[i % 3], "strategy": "dWr", "factor": 1.5 + (i // 3) * 1e-3 + (i % 3) * 1e-6}
    return "POST", "/plan", json.dumps(body).encode()


def plan_only(env: dict, args) -> list[tuple[str, int, dict]]:
    """300 distinct POST /plan requests, one client, one uvicorn process (after 20 warm-up plans)."""
    port = free_port()
    # The API exactly as production runs it: `fastscale serve` (its guarded HTTP protocol, event
    # loop and options), on the bench's Redis, with no local workers.
    serve = [sys.executable, "-c", "from cli.main import main; main()", "serve", "--port", str(port), "--workers", "0"]
    proc = subprocess.Popen(serve, env=env, cwd=ROOT, stderr=subprocess.DEVNULL)
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", proc=proc)
        warm = asyncio.run(drive(port, lambda i: distinct_plan(10**6 + i), 1, 20, args.seconds))
        fresh = asyncio.run(drive(port, distinct_plan, 1, args.distinct, args.seconds * 10))
    finally:
        proc.terminate()
        proc.wait(10)
    return [("POST /plan (warm-up, distinct)", 1, warm), ("POST /plan (distinct requests)", 1, fresh)]


def load_note() -> str:
    one, five, _ = os.getloadavg()
    return f"machine: {os.cpu_count()} cores, load average {one:.2f} (1 min) {five:.2f} (5 min)"


def print_table(rows: list[tuple[str, int, dict]], title: str) -> Console:
    table = Table("endpoint", "clients", "requests", "errors", "req/s", "p50 ms", "p99 ms", title=title)
    for name, clients, r in rows:
        table.add_row(name, str(clients), str(r["n"]), str(r["errors"]), f"{r['rps']:.0f}", f"{r['p50_ms']:.2f}",
                      f"{r['p99_ms']:.2f}")
    console = Console(width=120)
    console.print(table)
    return console


def print_plan_only(rows: list[tuple[str, int, dict]]) -> None:
    console = print_table(rows, "POST /plan, distinct requests, one uvicorn process")
    p50 = rows[-1][2]["p50_ms"]
    console.print(f"POST /plan p50, distinct: {p50:.2f} ms (issue 11 goal <= 3 ms): {'met' if p50 <= 3 else 'MISSED'}")
    console.print(load_note())


def print_report(rows: list[tuple[str, int, dict]]) -> None:
    console = print_table(rows, "fastscale API on loopback (one uvicorn process each)")
    by_name = {name: r for name, _c, r in rows}
    ratio = by_name["GET /profile/{id} (cached)"]["rps"] / by_name["bare FastAPI constant"]["rps"]
    p50 = max(r["p50_ms"] for name, c, r in rows if name.startswith("POST /plan") and c == 1)
    console.print(f"cached GET /profile / bare constant throughput: {ratio:.2f} (goal >= 0.7): {'met' if ratio >= 0.7 else 'MISSED'}")
    console.print(f"POST /plan p50, 1 client, worst case: {p50:.2f} ms (goal <= 5 ms): {'met' if p50 <= 5 else 'MISSED'}")
    console.print(f"{load_note()}; {statistics.__name__} client in-process, asyncio keep-alive")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=2000, help="requests per measurement (bound)")
    ap.add_argument("--seconds", type=float, default=20, help="time cap per measurement")
    ap.add_argument("--plan-only", action="store_true", help="only distinct POST /plan requests (issue 11)")
    ap.add_argument("--distinct", type=int, default=300, help="distinct /plan requests with --plan-only")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp, EmbeddedRedis(tmp) as redis_server:
        env = {**os.environ, "REDIS_URL": redis_server.url, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1",
               "FASTSCALE_KEY_PREFIX": "bench", "FASTSCALE_RATE_LIMIT_PER_MINUTE": "0"}
        if args.plan_only:
            print_plan_only(plan_only(env, args))
            return
        api_port, bare_port = free_port(), free_port()
        procs = start(env, api_port, bare_port)
        try:
            wait_http(f"http://127.0.0.1:{api_port}/healthz")
            wait_http(f"http://127.0.0.1:{bare_port}/constant")
            pid = cached_profile(httpx.Client(base_url=f"http://127.0.0.1:{api_port}", timeout=30))
            rows = measure_all(api_port, bare_port, pid, args)
        finally:
            for p in procs:
                p.terminate()
                p.wait(10)
    print_report(rows)


if __name__ == "__main__":
    main()
