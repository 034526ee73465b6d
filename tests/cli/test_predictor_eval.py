"""``fastscale predictor-eval`` (issue 11.1): rows in, leave-one-out figures per mode out."""

import json
from pathlib import Path

from typer.testing import CliRunner

from cli.main import app
from fastscale.prediction.predictor_eval import h200_sweep_rows

runner = CliRunner()
H200 = Path(__file__).parents[1] / "data" / "h200_measurements.json"


def test_rows_file_gives_one_object_per_mode(tmp_path):
    rows = [{k: v for k, v in r.items() if k not in ("flops", "resolution")}
            for r in h200_sweep_rows(json.loads(H200.read_text()))]
    path = tmp_path / "rows.json"
    path.write_text(json.dumps(rows))
    result = runner.invoke(app, ["predictor-eval", str(path)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert set(report) == {"inference", "training"}
    for figures in report.values():
        assert {"loo_median_rel_error", "loo_p90_rel_error", "loo_max_rel_error", "n", "features"} <= set(figures)
        assert figures["n"] == 17 and figures["loo_median_rel_error"] <= 0.03 and figures["loo_max_rel_error"] <= 0.08


def test_the_h200_file_is_read_directly_and_bad_rows_are_one_line_errors(tmp_path):
    assert json.loads(runner.invoke(app, ["predictor-eval", str(H200)]).stdout)["training"]["n"] == 17
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"model": "NoSuchNet", "strategy": "w", "factor": 2, "inference_ms": 1}]))
    result = runner.invoke(app, ["predictor-eval", str(bad)])
    assert result.exit_code == 2 and "rows[0]" in result.output
