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


def main() -> None:
    app()


if __name__ == "__main__":
    main()
