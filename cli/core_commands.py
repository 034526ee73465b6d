"""Commands that need only the scaling core: ``plan`` and ``models`` (no FastAPI, Redis or RQ;
torch only for ``plan --verify``; ``plan --export`` and ``models --source`` read the catalog data,
never torchvision or timm)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from cli.options import (
    AlphaOpt, DtypeOpt, FactorOpt, JsonOpt, ModelArg, RoundingOpt, SpecOpt, TargetFlopsOpt, fail, plan_spec, spec_name,
    write_text,
)
from cli.render import print_models, print_plan
from fastscale.errors import ScalingError

StrategyOpt = Annotated[str, typer.Option("--strategy", "-s", help="d w r dw dr wr dwr dWr, or a weight string like d1_w8_r1.")]


def plan(
    model: ModelArg = None,
    spec: SpecOpt = None,
    strategy: StrategyOpt = "dWr",
    alpha: AlphaOpt = None,
    factor: FactorOpt = None,
    target_flops: TargetFlopsOpt = None,
    rounding: RoundingOpt = "nearest",
    resolution: Annotated[Optional[int], typer.Option("--resolution", help="Base resolution override.")] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", "-b", help="Images per step of the memory prediction.")] = 64,
    dtype: DtypeOpt = "float32",
    pycls_yaml: Annotated[Optional[Path], typer.Option(
        "--pycls-yaml", help="Write the scaled model as a pycls config to this file.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print only the plan JSON.")] = False,
    verify: Annotated[bool, typer.Option("--verify", help="Build on meta and compare counted with analytic figures.")] = False,
    export: Annotated[Optional[str], typer.Option("--export", help=(
        "torchvision, timm or pycls: print (or write to --out) the scaled model in that format instead of "
        "the plan: a Python snippet (--json or an --out ending .json: the recipe), or the pycls config."))] = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="With --export: write it to this file.")] = None,
) -> None:
    """Plan a scaled model: its architecture, analytic complexity and predicted memory."""
    from fastscale.memory import plan_memory
    from fastscale.planning.planner import make_plan
    from fastscale.pycls import plan_yaml

    try:
        p = make_plan(model=model, spec=plan_spec(spec), strategy=strategy, alpha=alpha, factor=factor,
                      target_flops=target_flops, rounding=rounding, resolution=resolution, name=spec_name(spec))
        data = {**p.to_dict(), "memory": plan_memory(p, batch_size, dtype)}
        exported = plan_yaml(p) if pycls_yaml is not None else None
    except ScalingError as exc:
        fail(str(exc))
    if exported is not None:
        write_text(pycls_yaml, exported, "--pycls-yaml")
    if export is not None:
        return export_plan(p, export, out, as_json)
    verification = None
    if verify:
        from fastscale.build.verify import verify_plan

        verification = verify_plan(p).to_dict()
        data["verification"] = verification
    if as_json:
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
    else:
        print_plan(data, verification)
    if verification is not None and not verification["ok"]:
        typer.echo("error: counted figures disagree with the analytic ones", err=True)
        raise typer.Exit(1)


def export_plan(p, fmt: str, out: Optional[Path], as_json: bool) -> None:
    """``plan --export``: the plan in ``fmt`` on stdout or in ``out``; a refusal says why and what can."""
    from fastscale.interop.export import FORMATS, Refused, export, snippet

    if fmt not in FORMATS:
        fail(f"--export: unknown format {fmt!r} (allowed: {', '.join(FORMATS)})")
    try:
        value = export(p, fmt)
    except Refused as err:
        fail(f"--export {fmt}: cannot build this network exactly: {err.reason} "
             f"(formats that can: {', '.join(err.can) or 'none'})")
    if fmt != "pycls":
        wants_json = as_json or (out is not None and out.suffix == ".json")
        value = json.dumps(value, indent=2) + "\n" if wants_json else snippet(value)
    if out is None:
        sys.stdout.write(value)
    else:
        write_text(out, value, "--out")


SourceOpt = Annotated[str, typer.Option("--source", help="zoo (default), torchvision or timm.")]


def models(as_json: JsonOpt = False, source: SourceOpt = "zoo") -> None:
    """List the zoo (or a library's models fastscale expresses exactly) with each model's complexity."""
    from fastscale import zoo
    from fastscale.interop import catalog

    if source not in ("zoo", *catalog.sources()):
        fail(f"--source: unknown source {source!r} (allowed: zoo, {', '.join(catalog.sources())})")
    names = zoo.names() if source == "zoo" else [f"{source}:{n}" for n in catalog.entries(source)]
    rows = []
    for name in names:
        m = zoo.get(name)
        rows.append({"name": name, "family": m.family, "resolution": m.resolution, **m.spec.complexity(m.resolution)})
    if as_json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
    else:
        print_models(rows)
