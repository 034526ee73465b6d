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


def _base(model: Optional[str], spec: Optional[Path]) -> dict:
    out = {}
    if model is not None:
        out["model"] = model
    if spec is not None:
        out["spec"] = spec.read_text() if spec.suffix in (".yaml", ".yml") else _read_spec(spec)
    return out


def _poll(client, path: str, timeout: float, done, describe) -> dict:
    import time as _time

    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    deadline = _time.monotonic() + timeout
    with Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=Console(stderr=True),
                  transient=True) as bar:
        task = bar.add_task("waiting", total=None)
        while True:
            state = client.get(path)
            total, completed, text = describe(state)
            bar.update(task, total=total, completed=completed, description=text)
            if done(state) or _time.monotonic() > deadline:
                return state
            _time.sleep(0.5)


@app.command()
def sweep(
    model: Optional[str] = typer.Argument(None, help="Zoo model name (or use --spec)."),
    spec: Optional[Path] = typer.Option(None, "--spec", help="Custom spec: fastscale JSON or pycls YAML."),
    strategies: str = typer.Option("w,dw,dwr,dWr", "--strategies", help="Comma-separated strategies."),
    factors: str = typer.Option("1,2,4,8,16", "--factors", help="Comma-separated flops factors."),
    alpha: Optional[float] = typer.Option(None, "--alpha", help="alpha for dWr."),
    rounding: str = typer.Option("nearest", "--rounding"),
    device: str = typer.Option("auto", "--device"),
    batch_size: int = typer.Option(64, "--batch-size", "-b"),
    dtype: str = typer.Option("float32", "--dtype"),
    time_budget: Optional[float] = typer.Option(None, "--time-budget"),
    out: Optional[Path] = typer.Option(None, "--out", help="Write the figure here (.png or .svg)."),
    timeout: float = typer.Option(7200.0, "--timeout"),
    url: str = typer.Option("http://127.0.0.1:8000", "--url", envvar="FASTSCALE_API"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Profile a model under several strategies and factors; print the analysis, write the figure."""
    from app.client import ApiError, Client

    strats = [({"strategy": s, "alpha": alpha} if s == "dWr" and alpha is not None else s)
              for s in (x.strip() for x in strategies.split(",")) if s]
    try:
        facts = [float(f) for f in factors.split(",") if f.strip()]
    except ValueError:
        fail("--factors: comma-separated numbers, e.g. 1,2,4,8")
    profile = {"device": device, "batch_size": batch_size, "dtype": dtype}
    if time_budget is not None:
        profile["time_budget_s"] = time_budget
    client = Client(url)
    try:
        created = client.post("/sweep", {**_base(model, spec), "strategies": strats, "factors": facts,
                                         "rounding": rounding, "profile": profile})
        state = _poll(client, f"/sweep/{created['id']}", timeout, lambda s: s["status"] in ("finished", "failed"),
                      lambda s: (s["total"], s["done"], f"sweep {s['id'][:8]}: {s['done']}/{s['total']} profiles"))
        if out is not None and state["status"] in ("finished", "failed"):
            out.write_bytes(client.get_bytes(f"/sweep/{created['id']}/plot.{'svg' if out.suffix == '.svg' else 'png'}"))
    except ApiError as exc:
        fail(str(exc))
    if as_json:
        sys.stdout.write(json.dumps(state, indent=2) + "\n")
        return
    table = Table("strategy", "s", "flops", "acts", "inference ms", "training ms", "status", header_style="bold")
    for r in state["rows"]:
        table.add_row(r["label"], f"{r['factor']:g}", si(r.get("flops", 0)), si(r.get("acts", 0)),
                      f"{r['inference_ms']:.2f}" if r.get("inference_ms") else "-",
                      f"{r['training_ms']:.2f}" if r.get("training_ms") else "-", r["status"])
    console.print(table)
    for mode, corr in state.get("analysis", {}).get("pearson", {}).items():
        fmt = lambda v: "-" if v is None else f"{v:.3f}"  # noqa: E731
        console.print(f"{mode}: Pearson r  flops {fmt(corr['flops'])}  params {fmt(corr['params'])}  acts {fmt(corr['acts'])}")
    if out is not None:
        console.print(f"figure written to {out}")


@app.command()
def recommend(
    model: Optional[str] = typer.Argument(None, help="Zoo model name (or use --spec)."),
    spec: Optional[Path] = typer.Option(None, "--spec"),
    target_flops: Optional[float] = typer.Option(None, "--target-flops", help="Choose the fastest strategy at these flops."),
    latency_budget_ms: Optional[float] = typer.Option(None, "--latency-budget-ms", help="Choose the largest factor that fits."),
    strategy: str = typer.Option("dWr", "--strategy", help="Strategy scaled under --latency-budget-ms."),
    candidates: str = typer.Option("d,w,r,dw,dr,wr,dwr,dWr", "--candidates", help="Strategies compared at --target-flops."),
    mode: str = typer.Option("training", "--mode", help="inference or training."),
    device: str = typer.Option("auto", "--device"),
    batch_size: int = typer.Option(64, "--batch-size", "-b"),
    dtype: str = typer.Option("float32", "--dtype"),
    time_budget: Optional[float] = typer.Option(None, "--time-budget"),
    timeout: float = typer.Option(7200.0, "--timeout"),
    url: str = typer.Option("http://127.0.0.1:8000", "--url", envvar="FASTSCALE_API"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Recommend a strategy (--target-flops) or a factor (--latency-budget-ms) from real measurements."""
    from app.client import ApiError, Client

    profile = {"device": device, "batch_size": batch_size, "dtype": dtype}
    if time_budget is not None:
        profile["time_budget_s"] = time_budget
    body = {**_base(model, spec), "mode": mode, "profile": profile, "strategy": strategy,
            "candidates": [c.strip() for c in candidates.split(",") if c.strip()]}
    if target_flops is not None:
        body["target_flops"] = target_flops
    if latency_budget_ms is not None:
        body["latency_budget_ms"] = latency_budget_ms
    client = Client(url)
    try:
        state = client.post("/recommend", body)
        state = _poll(client, f"/recommend/{state['id']}", timeout, lambda s: s["status"] != "running",
                      lambda s: (None, len(s["evidence"]), f"recommend {s['id'][:8]}: {len(s['evidence'])} measured"))
    except ApiError as exc:
        fail(str(exc))
    if as_json:
        sys.stdout.write(json.dumps(state, indent=2) + "\n")
    else:
        table = Table("strategy", "factor", "flops", f"{mode} ms", "status", header_style="bold")
        for r in state["evidence"]:
            ms = r.get(f"{mode}_ms")
            table.add_row(r["strategy"], f"{r['factor']:.4g}", si(r["flops"]), f"{ms:.2f}" if ms else "-", r["status"])
        console.print(table)
        if state.get("chosen"):
            ch = state["chosen"]
            console.print(f"[bold]chosen:[/bold] {ch['strategy']} at {ch['factor']:.4g}x: {ch['why']}")
    if state["status"] != "finished":
        fail(f"recommendation {state['status']}: {(state.get('error') or {}).get('message', '')}", 1)


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
