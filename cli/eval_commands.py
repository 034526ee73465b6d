"""``fastscale predictor-eval``: how well the runtime model predicts measured rows (issue 11.1).

Thin: reading the file and printing JSON. Re-planning, deduplication, fitting and the
leave-one-out figures are fastscale.prediction.predictor_eval's (no FastAPI, Redis or torch).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from cli.options import fail
from fastscale.errors import ScalingError


def predictor_eval(
    rows_file: Annotated[Path, typer.Argument(metavar="ROWS.json", help="A JSON list of rows {model, strategy, factor, "
                                              "[alpha], [rounding], inference_ms, training_ms}, or an H200 "
                                              "measurements file (its efficientnet_b0_sweep table is read).")],
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Batch size the rows were measured at.")] = 64,
    dtype: Annotated[str, typer.Option("--dtype", help="float32, bfloat16 or float16.")] = "float32",
) -> None:
    """Leave-one-out errors of the runtime model on measured rows, one JSON object per mode."""
    from fastscale.prediction.predictor_eval import SWEEP_TABLE, evaluate_rows, h200_sweep_rows

    try:
        data = json.loads(rows_file.read_text())
    except (OSError, ValueError) as exc:
        fail(f"{rows_file}: {exc}")
    rows = h200_sweep_rows(data) if isinstance(data, dict) and SWEEP_TABLE in data else data
    try:
        report = evaluate_rows(rows, batch_size, dtype)
    except ScalingError as exc:
        fail(str(exc))
    sys.stdout.write(json.dumps(report, indent=2) + "\n")
