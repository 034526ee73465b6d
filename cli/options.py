"""The options several commands share, declared once as ``Annotated`` typer types, and how their
values become request data (spec files, comma-separated lists, the profile settings)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Optional

import typer

ModelArg = Annotated[Optional[str], typer.Argument(help="Zoo model name, e.g. EfficientNet-B0 (or use --spec).")]
SpecOpt = Annotated[Optional[Path], typer.Option("--spec", help="Custom base architecture: fastscale JSON or a pycls YAML config.")]
AlphaOpt = Annotated[Optional[float], typer.Option("--alpha", help="alpha for dWr (default 0.8).")]
FactorOpt = Annotated[Optional[float], typer.Option("--factor", "-f", help="Flops factor s.")]
TargetFlopsOpt = Annotated[Optional[float], typer.Option("--target-flops", help="Target flops instead of a factor.")]
RoundingOpt = Annotated[str, typer.Option("--rounding", help="nearest (default) or pycls.")]
DeviceOpt = Annotated[str, typer.Option("--device", help="auto, cpu, cuda or a device class.")]
BatchSizeOpt = Annotated[Optional[int], typer.Option(
    "--batch-size", "-b", show_default=False,
    help="Images per step [default: the device class's, GET /readyz: 4 on CPU, 64 on CUDA].")]
DtypeOpt = Annotated[str, typer.Option("--dtype", help="float32, bfloat16 or float16.")]
TimeBudgetOpt = Annotated[Optional[float], typer.Option("--time-budget", help="Per-mode timing budget, seconds.")]
TimeoutOpt = Annotated[float, typer.Option("--timeout", help="Seconds to wait at most.")]
UrlOpt = Annotated[Optional[str], typer.Option(
    "--url", envvar=["FASTSCALE_URL", "FASTSCALE_API"], show_default=False,
    help="API base URL [default: FASTSCALE_URL, else http://FASTSCALE_HOST:FASTSCALE_PORT, else http://127.0.0.1:8000].")]
ApiKeyOpt = Annotated[Optional[str], typer.Option("--api-key", envvar="FASTSCALE_API_KEY", show_default=False,
                                                  help="Sent as X-API-Key when the API needs a key.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON only.")]


def fail(message: str, code: int = 2) -> None:  # 2: EXIT_REFUSED
    """One line on stderr and exit ``code`` (2: bad input or an error answer; 1: a failed result)."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def read_spec(path: Optional[Path]) -> Optional[dict]:
    """A spec file parsed: YAML for .yaml/.yml, JSON otherwise."""
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


def plan_spec(path: Optional[Path]):
    """A spec file for ``plan``: a pycls YAML config as its text (the core reads it as pycls does,
    and as the API reads the text a client sends), any other file parsed."""
    parsed = read_spec(path)
    if path is not None and path.suffix in (".yaml", ".yml") and isinstance(parsed, dict) and "MODEL" in parsed:
        return path.read_text()
    return parsed


def write_text(path: Path, text: str, option: str) -> None:
    try:
        path.write_text(text)
    except OSError as exc:
        fail(f"{option}: cannot write {path}: {exc.strerror}")


def spec_name(spec: Optional[Path]) -> Optional[str]:
    """What a model from ``--spec`` is called: its file's name without the suffix (characters a
    model name may not hold become '-'), so ``--spec EN-B0_dds_8gpu.yaml`` plans "EN-B0_dds_8gpu"."""
    if spec is None:
        return None
    name = re.sub(r"[^A-Za-z0-9._+-]", "-", spec.stem).lstrip("._+-")[:64]
    return name or None


def base_request(model: Optional[str], spec: Optional[Path]) -> dict:
    """The base model part of a sweep or recommend request (a pycls YAML spec is sent as its text)."""
    out = {}
    if model is not None:
        out["model"] = model
    if spec is not None:
        out["spec"] = spec.read_text() if spec.suffix in (".yaml", ".yml") else read_spec(spec)
        if spec_name(spec):
            out["name"] = spec_name(spec)
    return out


# What a client command's exit status says, the same for scale --wait, sweep and recommend:
# 0 the run finished; 1 it ended without a result (failed or cancelled) or was still running when
# --timeout passed; 2 the request was refused (bad input, an error answer) or the API unreachable.
EXIT_NO_RESULT, EXIT_REFUSED = 1, 2


def exit_for(status: str, what: str, detail: str = "") -> None:
    """Exit 1 unless ``status`` is finished (the run's own outcome; see above)."""
    if status != "finished":
        fail(f"{what} {status}" + (f": {detail}" if detail else "") +
             (" (still running: wait longer with --timeout)" if status in ("queued", "started", "running") else ""),
             EXIT_NO_RESULT)


def csv(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def profile_request(device: str, batch_size: Optional[int], dtype: str, time_budget: Optional[float]) -> dict:
    profile = {"device": device, "dtype": dtype}
    if batch_size is not None:
        profile["batch_size"] = batch_size
    if time_budget is not None:
        profile["time_budget_s"] = time_budget
    return profile
