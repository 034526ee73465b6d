"""The command line's library names and exports, and the README examples they print."""

from __future__ import annotations

import json
import re

from typer.testing import CliRunner

from cli.main import app
from fastscale import make_plan
from fastscale.interop.export import export, snippet
from tests.paths import ROOT

runner = CliRunner()


def test_models_lists_a_library():
    out = runner.invoke(app, ["models", "--source", "torchvision", "--json"])
    assert out.exit_code == 0, out.output
    names = {row["name"] for row in json.loads(out.output)}
    assert {"torchvision:regnet_x_400mf", "torchvision:resnet152", "torchvision:efficientnet_b0"} <= names
    assert runner.invoke(app, ["models", "--source", "keras"]).exit_code == 2


def test_plan_exports_to_a_file_and_refuses_with_the_formats_that_can(tmp_path):
    out_file = tmp_path / "recipe.json"
    out = runner.invoke(app, ["plan", "timm:resnet50", "-s", "dw", "-f", "4", "--export", "timm", "--out", str(out_file)])
    assert out.exit_code == 0, out.output
    recipe = json.loads(out_file.read_text())
    assert recipe["constructor"] == "timm.models.resnet.ResNet" and recipe["library"] == "timm"
    out = runner.invoke(app, ["plan", "timm:resnet50", "-s", "dw", "-f", "4", "--export", "torchvision"])
    assert out.exit_code == 2 and "fixed stage widths" in out.output and "formats that can: timm, pycls" in out.output


def test_the_readme_examples_are_what_the_exporter_prints():
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Use the scaled model in your training code"):readme.index("## Settings")]
    commands = re.findall(r"`fastscale plan (\S+) -s (\S+) -f (\S+) --export (\S+)` prints:\n\n```python\n(.*?)```",
                          section, re.S)
    assert {c[3] for c in commands} == {"torchvision", "timm"}
    for model, strategy, factor, fmt, code in commands:
        plan = make_plan(model=model, strategy=strategy, factor=float(factor))
        assert code == snippet(export(plan, fmt))
