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
