"""The fastscale CLI: JSON on stdout, readable tables, verification, one-line errors with exit 2."""

import json
import subprocess
import sys

from typer.testing import CliRunner

from cli.main import app

runner = CliRunner()


def test_plan_json_is_only_the_plan():
    out = subprocess.run([sys.executable, "-m", "cli", "plan", "efficientnet_b0", "--factor", "4", "--json"],
                         capture_output=True, text=True, check=True)
    data = json.loads(out.stdout)
    assert data["base"]["name"] == "EfficientNet-B0" and data["requested_factor"] == 4
    assert abs(data["achieved_factor"] / 4 - 1) <= 0.02


def test_plan_table_and_verify():
    result = runner.invoke(app, ["plan", "RegNetY-400MF", "--strategy", "dWr", "--target-flops", "1.6e9", "--verify"])
    assert result.exit_code == 0, result.output
    assert "counted on meta" in result.output and "NO" not in result.output


def test_plan_pycls_rounding_json():
    result = runner.invoke(app, ["plan", "ResNet-50", "-s", "w", "-f", "4", "--rounding", "pycls", "--json"])
    assert json.loads(result.stdout)["arch"]["widths"] == [512, 1024, 2048, 4096]


def test_errors_are_one_line_on_stderr_with_exit_2():
    out = subprocess.run([sys.executable, "-m", "cli", "plan", "ResNet-50", "--factor", "5000"],
                         capture_output=True, text=True)
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.strip().count("\n") == 0 and "factor" in out.stderr and "1024" in out.stderr


def test_models_lists_the_zoo():
    result = runner.invoke(app, ["models", "--json"])
    rows = json.loads(result.stdout)
    assert len(rows) == 44 and {"name", "flops", "params", "acts"} <= set(rows[0])  # 36 + 8 ConvNeXt, ViT


def test_ids_are_never_cut_in_narrow_tables():
    """At 80 columns (and at 60) a listing's ids fold onto more lines; no ellipsis, no prefix."""
    from rich.console import Console
    from rich.table import Table

    from cli.render import listing_table

    pid = "29eb66c0d1e2f3a4b5c6d7e8f9a0b1c2"
    for width in (80, 60):
        table = listing_table("id", "model", "strategy", "factor", "status", "inference ms", "training ms", "created")
        table.add_row(pid, "RegNetY-400MF", "dWr", "4", "finished", "123.45", "456.78", "2026-12-05T07:00:00")
        console = Console(width=width, record=True)
        console.print(table)
        text = console.export_text()
        assert "…" not in text and pid in text.replace("│", "").replace("┃", "").replace(" ", "").replace("\n", "")
        if width == 80:
            assert pid in text  # wide enough for the whole id on one line


def test_progress_lines_for_a_log():
    """Not a terminal: one line per change, with the elapsed time, and a line at least every every_s."""
    import io

    from cli.render import ProgressLines

    out = io.StringIO()
    with ProgressLines(out, every_s=3600) as bar:
        task = bar.add_task("sweep abc: waiting")
        bar.update(task, total=4, completed=1, description="sweep abc: 1/4 profiles")
        bar.update(task, total=4, completed=1, description="sweep abc: 1/4 profiles")  # unchanged: no line
        bar.update(task, total=4, completed=2, description="sweep abc: 2/4 profiles")
    lines = out.getvalue().splitlines()
    assert [line.split("] ", 1)[1] for line in lines] == ["sweep abc: waiting", "sweep abc: 1/4 profiles",
                                                          "sweep abc: 2/4 profiles"]
    assert all(line.startswith("[") and " s] " in line for line in lines)
    out = io.StringIO()
    with ProgressLines(out, every_s=0) as bar:
        bar.update(bar.add_task("x"), description="x")  # the same text again after every_s: a keep-alive line
    assert len(out.getvalue().splitlines()) == 2
    import time

    out = io.StringIO()
    with ProgressLines(out, every_s=0.2) as bar:  # no event at all for a while: the line repeats by itself
        bar.add_task("sweep abc: 0/4 profiles")
        deadline = time.monotonic() + 30
        while len(out.getvalue().splitlines()) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
    assert len(out.getvalue().splitlines()) >= 3 and out.getvalue().count("0/4 profiles") >= 3


def test_a_spec_plan_is_named_after_its_file(tmp_path):
    from tests.paths import DATA

    spec = tmp_path / "EN-B0_dds_8gpu.yaml"
    spec.write_text((DATA / "pycls" / "configs" / "dds_baselines" / "effnet" / "EN-B0_dds_8gpu.yaml").read_text())
    result = runner.invoke(app, ["plan", "--spec", str(spec), "-f", "2", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["base"]["name"] == "EN-B0_dds_8gpu"
    from cli.options import spec_name

    assert spec_name(tmp_path / "my model (v2).json") == "my-model--v2-"


def test_client_commands_exit_1_without_a_result_and_2_when_refused():
    """One rule for scale --wait, sweep and recommend: 0 finished; 1 failed, cancelled or still
    running at --timeout; 2 refused or unreachable."""
    import typer

    from cli.options import exit_for

    exits = (typer.Exit,)

    assert exit_for("finished", "x") is None
    for status in ("failed", "cancelled", "running", "started", "queued"):
        try:
            exit_for(status, "sweep s")
        except exits as exc:
            assert getattr(exc, "exit_code", getattr(exc, "code", None)) == 1, status
        else:
            raise AssertionError(status)
    out = subprocess.run([sys.executable, "-m", "cli", "recommend", "ResNet-50", "--target-flops", "8e9",
                          "--url", "http://127.0.0.1:9"], capture_output=True, text=True)
    assert out.returncode == 2 and "cannot reach the API" in out.stderr
