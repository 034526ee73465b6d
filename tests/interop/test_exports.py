"""Export formats: each refusal reason of issue 20 has a case, a refused format names the formats
that can, and the snippet builds the same model in a fresh Python with only its library."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from fastscale import make_plan
from fastscale.families import EffNetSpec
from fastscale.interop.common import make_divisible
from fastscale.interop.export import Refused, export, reasons, snippet
from tests.paths import ROOT


def refusal(plan, fmt: str) -> Refused:
    with pytest.raises(Refused) as err:
        export(plan, fmt)
    return err.value


def test_fixed_stage_widths_are_refused_by_torchvision_resnet():
    plan = make_plan(model="ResNet-50", strategy="w", factor=4)
    err = refusal(plan, "torchvision")
    assert "fixed stage widths" in err.reason and str(list(plan.arch.widths)) in err.reason
    assert err.can == ["timm", "pycls"] and export(plan, "timm")["constructor"] == "timm.models.resnet.ResNet"


def test_widths_generated_from_w0_wa_wm_are_refused_by_timm_regnet():
    plan = make_plan(model="RegNetY-400MF", strategy="dWr", factor=4)
    err = refusal(plan, "timm")
    assert "w0/wa/wm" in err.reason and err.can == ["torchvision", "pycls"]


def test_a_library_channel_rounding_is_refused():
    # The grid's EfficientNets keep multiples of 8; a custom one with a 20-wide stage does not.
    spec = {"family": "effnet", "stem_w": 32, "depths": [1, 2], "widths": [16, 20], "exp_ratios": [1, 6],
            "kernels": [3, 3], "strides": [1, 2], "se_r": 0.25, "head_w": 64}
    plan = make_plan(spec=spec, strategy="d", factor=1)
    assert make_divisible(20) == 24
    for fmt in ("torchvision", "timm"):
        err = refusal(plan, fmt)
        assert "channel rounding of its own" in err.reason and "->" in err.reason
        assert err.can == ["pycls"]


def test_a_family_a_library_lacks_and_an_unbuildable_pycls_case_are_refused():
    arch = EffNetSpec.from_dict({"family": "effnet", "stem_w": 32, "depths": [1], "widths": [16],
                                 "exp_ratios": [1], "kernels": [3], "strides": [1], "se_r": 0.25, "head_w": 0})
    plan = make_plan(spec=arch.to_dict(), strategy="d", factor=1)
    why = reasons(plan)
    assert "head conv" in why["torchvision"] and why["timm"] is None and why["pycls"]
    assert refusal(plan, "pycls").can == ["timm"]


def test_resnet_torchvision_needs_one_group_count():
    plan = make_plan(model="ResNeXt-50", strategy="d", factor=4)
    assert export(plan, "torchvision")["kwargs"]["groups"] == 32


@pytest.mark.parametrize("model,strategy,library", [
    ("timm:efficientnet_b0", "dWr", "timm"), ("torchvision:regnet_y_400mf", "dWr", "torchvision"),
    ("ResNet-50", "dw", "timm"), ("EfficientNet-B0", "d", "torchvision"), ("ViT-S/16", "dWr", "timm")])
def test_the_snippet_builds_the_same_model_in_a_fresh_python(model, strategy, library):
    pytest.importorskip(library)
    plan = make_plan(model=model, strategy=strategy, factor=4)
    code = snippet(export(plan, library))
    check = (code + "\nimport json, sys\n"
             "print(json.dumps([sum(p.numel() for p in model.parameters()),"
             " sorted(m.split('.')[0] for m in sys.modules if m.split('.')[0] in ('fastscale', 'fvcore'))]))\n")
    out = subprocess.run([sys.executable, "-c", check], cwd="/", capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    params, foreign = json.loads(out.stdout.strip().splitlines()[-1])
    assert params == plan.complexity["params"] and foreign == []
    assert code.count("import ") == len([ln for ln in code.splitlines() if ln.startswith("import " + library)])
