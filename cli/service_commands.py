"""Commands that run or use the service: ``serve``, ``worker`` and ``hash-key`` (operators), and
``scale``, ``sweep``, ``recommend`` (clients of the HTTP API).

Their heavy imports (uvicorn and the app, the supervisor, httpx, settings) happen when a command
runs, so ``fastscale plan`` works without the service stack installed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from cli.options import (
    DEFAULT_URL, AlphaOpt, BatchSizeOpt, DeviceOpt, DtypeOpt, FactorOpt, JsonOpt, ModelArg, RoundingOpt, SpecOpt,
    TargetFlopsOpt, TimeBudgetOpt, TimeoutOpt, UrlOpt, base_request, csv, fail, profile_request, read_spec,
)
from cli.render import console, print_profile, print_recommendation, print_sweep, progress_bar


def serve(
    host: Annotated[Optional[str], typer.Option(help="Bind address (FASTSCALE_HOST, default 127.0.0.1).")] = None,
    port: Annotated[Optional[int], typer.Option(help="Port (FASTSCALE_PORT, default 8000).")] = None,
    data_dir: Annotated[Optional[Path], typer.Option("--data-dir", help="Embedded Redis data (FASTSCALE_DATA_DIR).")] = None,
    workers: Annotated[Optional[int], typer.Option("--workers", help="Local workers beside the API (0: none).")] = None,
    device: Annotated[Optional[str], typer.Option("--device", help="Local workers' device: auto, cpu or cuda.")] = None,
) -> None:
    """Start the API, local workers and (without REDIS_URL) an embedded Redis, in one command."""
    from cli.serve import serve as run_serve

    run_serve(host, port, data_dir, workers, device)


def worker(
    device: Annotated[str, typer.Option("--device", help="auto: one worker per visible GPU, else CPU workers.")] = "auto",
    cpu_workers: Annotated[int, typer.Option("--cpu-workers", help="CPU workers when there is no GPU.")] = 1,
    grace: Annotated[float, typer.Option("--grace", help="Seconds a worker may take to finish its job on SIGTERM.")] = 300.0,
    check: Annotated[bool, typer.Option("--check", help="Health check: exit 0 if every worker here is alive.")] = False,
) -> None:
    """Run workers only (GPU hosts): one process per GPU, pinned with CUDA_VISIBLE_DEVICES."""
    import logging

    from service.settings import get_settings
    from workers.supervisor import run_workers

    if check:
        from workers.health import check as check_beats

        healthy, lines = check_beats(get_settings().worker_heartbeat_dir)
        typer.echo("\n".join(lines))
        raise typer.Exit(0 if healthy else 1)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    url = get_settings().redis_url
    if not url:
        fail("REDIS_URL is not set: workers need the Redis the API uses")
    try:
        run_workers(device, cpu_workers, url, grace)
    except (RuntimeError, ValueError) as exc:
        fail(str(exc))


def hash_key_cmd(key: Annotated[Optional[str], typer.Argument(help="The API key (read from stdin if omitted).")] = None) -> None:
    """Print the SHA-256 digest to put in FASTSCALE_API_KEY_HASHES (the key itself is never stored)."""
    from service.auth import MIN_KEY_CHARS, hash_key

    key = key if key is not None else sys.stdin.readline().rstrip("\n")
    if len(key) < MIN_KEY_CHARS:
        fail(f"the key is too short: use at least {MIN_KEY_CHARS} random characters (e.g. `openssl rand -hex 24`)")
    typer.echo(hash_key(key))


def _call(url: str, talk):
    """Run ``talk(client)`` against the API; its errors become one line on stderr."""
    import httpx

    from cli.client import ApiError, Client

    try:
        return talk(Client(url))
    except ApiError as exc:
        fail(str(exc))
    except httpx.HTTPError as exc:
        fail(f"cannot reach the API at {url}: {exc}")


def _print_json(data) -> None:
    sys.stdout.write(json.dumps(data, indent=2) + "\n")


def _wait_for_profile(client, pid: str, timeout: float, quiet: bool) -> dict:
    if quiet:
        return client.wait(pid, timeout)
    with progress_bar(with_bar=False) as bar:
        task = bar.add_task(f"profile {pid[:8]}: queued")

        def update(record: dict) -> None:
            phase = (record.get("progress") or {}).get("phase") or record["status"]
            bar.update(task, description=f"profile {pid[:8]}: {phase}")

        return client.wait(pid, timeout, update)


def _poll_with_bar(client, path: str, timeout: float, done, describe) -> dict:
    with progress_bar(with_bar=True) as bar:
        task = bar.add_task("waiting", total=None)

        def update(state: dict) -> None:
            total, completed, text = describe(state)
            bar.update(task, total=total, completed=completed, description=text)

        return client.poll(path, done, timeout, update)


def scale(
    model: ModelArg = None,
    spec: SpecOpt = None,
    strategy: Annotated[str, typer.Option("--strategy", "-s")] = "dWr",
    alpha: AlphaOpt = None,
    factor: FactorOpt = None,
    target_flops: TargetFlopsOpt = None,
    rounding: RoundingOpt = "nearest",
    device: DeviceOpt = "auto",
    batch_size: BatchSizeOpt = 64,
    modes: Annotated[str, typer.Option("--modes", help="Comma-separated: inference,training.")] = "inference,training",
    dtype: DtypeOpt = "float32",
    channels_last: Annotated[bool, typer.Option("--channels-last")] = False,
    time_budget: TimeBudgetOpt = None,
    force: Annotated[bool, typer.Option("--force", help="Measure again even if cached.")] = False,
    wait: Annotated[bool, typer.Option("--wait", help="Wait for the result, with a progress bar.")] = False,
    timeout: TimeoutOpt = 3600.0,
    url: UrlOpt = DEFAULT_URL,
    as_json: JsonOpt = False,
) -> None:
    """Submit a scale + profile request to the service (client)."""
    profile = {**profile_request(device, batch_size, dtype, time_budget), "channels_last": channels_last,
               "modes": csv(modes)}
    request = {"strategy": strategy, "rounding": rounding, "force": force, "profile": profile}
    for key, value in (("model", model), ("spec", read_spec(spec)), ("alpha", alpha), ("factor", factor),
                       ("target_flops", target_flops)):
        if value is not None:
            request[key] = value

    def talk(client):
        record = client.scale(request)
        if wait and record["status"] not in ("finished", "failed"):
            record = _wait_for_profile(client, record["id"], timeout, quiet=as_json)
        return record

    record = _call(url, talk)
    if as_json:
        _print_json(record)
    else:
        print_profile(record)
    if record["status"] == "failed":
        raise typer.Exit(1)


def sweep(
    model: ModelArg = None,
    spec: SpecOpt = None,
    strategies: Annotated[str, typer.Option("--strategies", help="Comma-separated strategies.")] = "w,dw,dwr,dWr",
    factors: Annotated[str, typer.Option("--factors", help="Comma-separated flops factors.")] = "1,2,4,8,16",
    alpha: AlphaOpt = None,
    rounding: RoundingOpt = "nearest",
    device: DeviceOpt = "auto",
    batch_size: BatchSizeOpt = 64,
    dtype: DtypeOpt = "float32",
    time_budget: TimeBudgetOpt = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="Write the figure here (.png or .svg).")] = None,
    timeout: TimeoutOpt = 7200.0,
    url: UrlOpt = DEFAULT_URL,
    as_json: JsonOpt = False,
) -> None:
    """Profile a model under several strategies and factors; print the analysis, write the figure."""
    strats = [({"strategy": s, "alpha": alpha} if s == "dWr" and alpha is not None else s) for s in csv(strategies)]
    try:
        facts = [float(f) for f in csv(factors)]
    except ValueError:
        fail("--factors: comma-separated numbers, e.g. 1,2,4,8")
    body = {**base_request(model, spec), "strategies": strats, "factors": facts, "rounding": rounding,
            "profile": profile_request(device, batch_size, dtype, time_budget)}

    def talk(client):
        sid = client.post("/sweep", body)["id"]
        state = _poll_with_bar(client, f"/sweep/{sid}", timeout, lambda s: s["status"] in ("finished", "failed"),
                               lambda s: (s["total"], s["done"], f"sweep {s['id'][:8]}: {s['done']}/{s['total']} profiles"))
        if out is not None and state["status"] in ("finished", "failed"):
            out.write_bytes(client.get_bytes(f"/sweep/{sid}/plot.{'svg' if out.suffix == '.svg' else 'png'}"))
        return state

    state = _call(url, talk)
    if as_json:
        return _print_json(state)
    print_sweep(state)
    if out is not None:
        console.print(f"figure written to {out}")


def recommend(
    model: ModelArg = None,
    spec: SpecOpt = None,
    target_flops: Annotated[Optional[float], typer.Option("--target-flops", help="Choose the fastest strategy at these flops.")] = None,
    latency_budget_ms: Annotated[Optional[float], typer.Option("--latency-budget-ms", help="Choose the largest factor that fits.")] = None,
    strategy: Annotated[str, typer.Option("--strategy", help="Strategy scaled under --latency-budget-ms.")] = "dWr",
    candidates: Annotated[str, typer.Option("--candidates", help="Strategies compared at --target-flops.")] = "d,w,r,dw,dr,wr,dwr,dWr",
    mode: Annotated[str, typer.Option("--mode", help="inference or training.")] = "training",
    device: DeviceOpt = "auto",
    batch_size: BatchSizeOpt = 64,
    dtype: DtypeOpt = "float32",
    time_budget: TimeBudgetOpt = None,
    timeout: TimeoutOpt = 7200.0,
    url: UrlOpt = DEFAULT_URL,
    as_json: JsonOpt = False,
) -> None:
    """Recommend a strategy (--target-flops) or a factor (--latency-budget-ms) from real measurements."""
    body = {**base_request(model, spec), "mode": mode, "profile": profile_request(device, batch_size, dtype, time_budget),
            "strategy": strategy, "candidates": csv(candidates)}
    for key, value in (("target_flops", target_flops), ("latency_budget_ms", latency_budget_ms)):
        if value is not None:
            body[key] = value

    def talk(client):
        rid = client.post("/recommend", body)["id"]
        return _poll_with_bar(client, f"/recommend/{rid}", timeout, lambda s: s["status"] != "running",
                              lambda s: (None, len(s["evidence"]), f"recommend {s['id'][:8]}: {len(s['evidence'])} measured"))

    state = _call(url, talk)
    if as_json:
        _print_json(state)
    else:
        print_recommendation(state, mode)
    if state["status"] != "finished":
        fail(f"recommendation {state['status']}: {(state.get('error') or {}).get('message', '')}", 1)
