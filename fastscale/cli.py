"""The ``fastscale`` command line.

Core commands (``plan``, ``models``) need only the scaling core. Service commands (``serve``,
``worker``, ``scale``) import the API, worker or client code when run, so ``fastscale plan`` works
without FastAPI, Redis or RQ installed. Errors are one line on stderr and exit code 2.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from fastscale.errors import ScalingError
from fastscale.fmt import si

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Scale CNNs the way 'Fast and Accurate Model Scaling' prescribes.")
console = Console()


def fail(message: str, code: int = 2) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _read_spec(path: Optional[Path]) -> Optional[dict]:
    if path is None:
        return None
    try:
        text = path.read_text()
    except OSError as exc:
        fail(f"--spec: cannot read {path}: {exc.strerror}")
    if path.suffix in (".yaml", ".yml"):
        import yaml

        return yaml.safe_load(text)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        fail(f"--spec: {path} is not valid JSON ({exc.msg} at line {exc.lineno})")


def _arch_rows(base_arch: dict, arch: dict) -> list[tuple[str, str, str]]:
    keys = [k for k in ("depths", "widths", "group_ws", "bot_muls", "exp_ratios", "stem_w", "head_w") if k in arch]
    return [(k, str(base_arch.get(k, "-")), str(arch[k])) for k in keys]


def print_plan(plan: dict, verification: Optional[dict] = None) -> None:
    base, strat = plan["base"], plan["strategy"]
    alpha = f" (alpha {strat['alpha']:g})" if strat["alpha"] is not None else ""
    ex = strat["exponents"]
    console.print(
        f"[bold]{base['name']}[/bold] scaled by [bold]{strat['name']}[/bold]{alpha}: "
        f"e_d={ex['d']:.3g} e_w={ex['w']:.3g} e_r={ex['r']:.3g} e_g={ex['g']:.3g}, rounding {plan['rounding']}"
    )
    table = Table(show_header=True, header_style="bold")
    table.add_column("")
    table.add_column("base", justify="right")
    table.add_column("scaled", justify="right")
    table.add_column("growth", justify="right")
    table.add_row("resolution", str(base["resolution"]), str(plan["resolution"]), "")
    for row in _arch_rows(plan["base"]["arch"] if base["family"] != "regnet" else {}, plan["arch"]):
        table.add_row(*row, "")
    for m in ("flops", "params", "acts"):
        table.add_row(m, si(base["complexity"][m]), si(plan["complexity"][m]), f"{plan['growth'][m]:.3f}x")
    console.print(table)
    miss = plan["achieved_factor"] / plan["requested_factor"] - 1
    console.print(f"requested {plan['requested_factor']:.4g}x flops, achieved {plan['achieved_factor']:.4g}x ({miss:+.2%})")
    if verification is not None:
        vt = Table("metric", "analytic", "counted on meta", "agree", header_style="bold")
        for m in ("flops", "params", "acts"):
            a, c = verification["analytic"][m], verification["counted"][m]
            vt.add_row(m, f"{a:,}", f"{c:,}", "yes" if a == c else "[red]NO[/red]")
        console.print(vt)


@app.command()
def plan(
    model: Optional[str] = typer.Argument(None, help="Zoo model name, e.g. EfficientNet-B0 (or use --spec)."),
    spec: Optional[Path] = typer.Option(None, "--spec", help="Custom architecture spec (JSON or pycls-style YAML)."),
    strategy: str = typer.Option("dWr", "--strategy", "-s", help="d w r dw dr wr dwr dWr, or a weight string like d1_w8_r1."),
    alpha: Optional[float] = typer.Option(None, "--alpha", help="alpha for dWr (default 0.8)."),
    factor: Optional[float] = typer.Option(None, "--factor", "-f", help="Flops factor s."),
    target_flops: Optional[float] = typer.Option(None, "--target-flops", help="Target flops instead of a factor."),
    rounding: str = typer.Option("nearest", "--rounding", help="nearest (default) or pycls."),
    resolution: Optional[int] = typer.Option(None, "--resolution", help="Base resolution override."),
    as_json: bool = typer.Option(False, "--json", help="Print only the plan JSON."),
    verify: bool = typer.Option(False, "--verify", help="Build on meta and compare counted with analytic figures."),
) -> None:
    """Plan a scaled model and show its architecture and analytic complexity."""
    from fastscale.planner import make_plan

    try:
        p = make_plan(model=model, spec=_read_spec(spec), strategy=strategy, alpha=alpha, factor=factor,
                      target_flops=target_flops, rounding=rounding, resolution=resolution)
    except ScalingError as exc:
        fail(str(exc))
    data = p.to_dict()
    verification = None
    if verify:
        from fastscale.verify import verify_plan

        verification = verify_plan(p).to_dict()
        data["verification"] = verification
    if as_json:
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
    else:
        print_plan(data, verification)
    if verification is not None and not verification["ok"]:
        typer.echo("error: counted figures disagree with the analytic ones", err=True)
        raise typer.Exit(1)


@app.command()
def models(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List the zoo with each base model's complexity."""
    from fastscale import zoo

    rows = []
    for name in zoo.names():
        m = zoo.get(name)
        rows.append({"name": name, "family": m.family, "resolution": m.resolution, **m.spec.complexity(m.resolution)})
    if as_json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    table = Table("model", "family", "res", "flops", "params", "acts", header_style="bold")
    for r in rows:
        table.add_row(r["name"], r["family"], str(r["resolution"]), si(r["flops"]), si(r["params"]), si(r["acts"]))
    console.print(table)


@app.command()
def serve(
    host: Optional[str] = typer.Option(None, help="Bind address (FASTSCALE_HOST, default 127.0.0.1)."),
    port: Optional[int] = typer.Option(None, help="Port (FASTSCALE_PORT, default 8000)."),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="Embedded Redis data (FASTSCALE_DATA_DIR)."),
    workers: Optional[int] = typer.Option(None, "--workers", help="Local workers beside the API (0: none)."),
    device: Optional[str] = typer.Option(None, "--device", help="Local workers' device: auto, cpu or cuda."),
) -> None:
    """Start the API, local workers and (without REDIS_URL) an embedded Redis, in one command."""
    from app.serve import serve as run_serve

    run_serve(host, port, data_dir, workers, device)


@app.command()
def worker(
    device: str = typer.Option("auto", "--device", help="auto: one worker per visible GPU, else CPU workers."),
    cpu_workers: int = typer.Option(1, "--cpu-workers", help="CPU workers when there is no GPU."),
    grace: float = typer.Option(300.0, "--grace", help="Seconds a worker may take to finish its job on SIGTERM."),
) -> None:
    """Run workers only (GPU hosts): one process per GPU, pinned with CUDA_VISIBLE_DEVICES."""
    import logging

    from app.settings import get_settings
    from workers.supervisor import run_workers

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    url = get_settings().redis_url
    if not url:
        fail("REDIS_URL is not set: workers need the Redis the API uses")
    try:
        run_workers(device, cpu_workers, url, grace)
    except (RuntimeError, ValueError) as exc:
        fail(str(exc))


@app.command()
def scale(
    model: Optional[str] = typer.Argument(None, help="Zoo model name (or use --spec)."),
    spec: Optional[Path] = typer.Option(None, "--spec", help="Custom architecture spec (JSON or YAML)."),
    strategy: str = typer.Option("dWr", "--strategy", "-s"),
    alpha: Optional[float] = typer.Option(None, "--alpha"),
    factor: Optional[float] = typer.Option(None, "--factor", "-f"),
    target_flops: Optional[float] = typer.Option(None, "--target-flops"),
    rounding: str = typer.Option("nearest", "--rounding"),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda or a device class."),
    batch_size: int = typer.Option(64, "--batch-size", "-b"),
    modes: str = typer.Option("inference,training", "--modes", help="Comma-separated: inference,training."),
    dtype: str = typer.Option("float32", "--dtype", help="float32, bfloat16 or float16."),
    channels_last: bool = typer.Option(False, "--channels-last"),
    time_budget: Optional[float] = typer.Option(None, "--time-budget", help="Per-mode timing budget, seconds."),
    force: bool = typer.Option(False, "--force", help="Measure again even if cached."),
    wait: bool = typer.Option(False, "--wait", help="Wait for the result, with a progress bar."),
    timeout: float = typer.Option(3600.0, "--timeout", help="Seconds to wait at most."),
    url: str = typer.Option("http://127.0.0.1:8000", "--url", envvar="FASTSCALE_API", help="API base URL."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON only."),
) -> None:
    """Submit a scale + profile request to the service (client)."""
    import httpx

    from app.client import ApiError, Client

    request = {"strategy": strategy, "rounding": rounding, "force": force,
               "profile": {"device": device, "batch_size": batch_size, "dtype": dtype, "channels_last": channels_last,
                           "modes": [m.strip() for m in modes.split(",") if m.strip()]}}
    for key, value in (("model", model), ("spec", _read_spec(spec)), ("alpha", alpha), ("factor", factor),
                       ("target_flops", target_flops)):
        if value is not None:
            request[key] = value
    if time_budget is not None:
        request["profile"]["time_budget_s"] = time_budget
    client = Client(url)
    try:
        record = client.scale(request)
        if wait and record["status"] not in ("finished", "failed"):
            record = _wait_with_progress(client, record["id"], timeout, quiet=as_json)
    except ApiError as exc:
        fail(str(exc))
    except httpx.HTTPError as exc:
        fail(f"cannot reach the API at {url}: {exc}")
    if as_json:
        sys.stdout.write(json.dumps(record, indent=2) + "\n")
    else:
        print_profile(record)
    if record["status"] == "failed":
        raise typer.Exit(1)


def _wait_with_progress(client, pid: str, timeout: float, quiet: bool) -> dict:
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    if quiet:
        return client.wait(pid, timeout)
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=Console(stderr=True),
                  transient=True) as bar:
        task = bar.add_task(f"profile {pid[:8]}: queued")

        def update(record: dict) -> None:
            phase = (record.get("progress") or {}).get("phase") or record["status"]
            bar.update(task, description=f"profile {pid[:8]}: {phase}")

        return client.wait(pid, timeout, update)


def print_profile(record: dict) -> None:
    console.print(f"profile [bold]{record['id']}[/bold]: {record['status']} on {record.get('device_class')}")
    if record.get("plan"):
        print_plan(record["plan"])
    if record.get("error"):
        console.print(f"[red]{record['error']['type']}: {record['error']['message']}[/red]")
    result = record.get("result")
    if not result:
        return
    dev = result["device"]
    console.print(f"device: {dev.get('name')} torch {dev.get('torch')} cuda {dev.get('cuda')} cudnn {dev.get('cudnn')} "
                  f"dtype {dev.get('dtype')}")
    table = Table("mode", "median ms", "ci95 ms", "p10..p90 ms", "n", "stable", "img/s", "peak memory",
                  header_style="bold")
    for mode in ("inference", "training"):
        m = result.get(mode)
        if not m:
            continue
        mem = si(m["peak_memory_bytes"], "B") if m.get("peak_memory_bytes") else "-"
        table.add_row(mode, f"{m['median_ms']:.3f}", f"{m['ci95_low_ms']:.3f}..{m['ci95_high_ms']:.3f}",
                      f"{m['p10_ms']:.2f}..{m['p90_ms']:.2f}", str(m["n"]), "yes" if m["stable"] else "no",
                      f"{m['throughput_per_s']:.1f}", mem)
    console.print(table)


@app.command("hash-key")
def hash_key_cmd(key: Optional[str] = typer.Argument(None, help="The API key (read from stdin if omitted).")) -> None:
    """Print the SHA-256 digest to put in FASTSCALE_API_KEY_HASHES (the key itself is never stored)."""
    import hashlib

    key = key if key is not None else sys.stdin.readline().rstrip("\n")
    if len(key) < 16:
        fail("the key is too short: use at least 16 random characters (e.g. `openssl rand -hex 24`)")
    typer.echo(hashlib.sha256(key.encode()).hexdigest())


def main() -> None:
    app()


if __name__ == "__main__":
    main()
