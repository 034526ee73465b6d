"""The catalog of library names: generated from the installed libraries, never typed by hand,
and what the API process serves without importing them."""

from __future__ import annotations

import fnmatch
import json
import subprocess
import sys

import pytest

from fastscale import make_plan, zoo
from fastscale.errors import ScalingError
from fastscale.interop import catalog
from tests.paths import ROOT

torchvision = pytest.importorskip("torchvision")
timm = pytest.importorskip("timm")

# The names issue 20 requires at the least, as patterns over each installed library's own list.
REQUIRED = {
    "torchvision": ["regnet_x_*", "regnet_y_*", "efficientnet_b[0-7]", "resnet50", "resnet101", "resnet152",
                    "resnext50_32x4d", "resnext101_32x8d",
                    "convnext_tiny", "convnext_small", "convnext_base", "convnext_large", "vit_b_16", "vit_l_16"],
    "timm": ["efficientnet_b[0-3]", "resnet50", "regnetx_0[0-9][0-9]", "regnety_0[0-9][0-9]",
             "convnext_tiny", "convnext_small", "convnext_base", "convnext_large", "vit_tiny_patch16_224",
             "vit_small_patch16_224", "vit_base_patch16_224", "vit_large_patch16_224"],
}


def test_the_data_file_is_what_the_installed_libraries_give():
    assert catalog.generate() == catalog.data(), "run: python -m fastscale.interop.catalog"


@pytest.mark.parametrize("source", sorted(REQUIRED))
def test_the_required_names_are_all_there(source):
    listed = (torchvision.models.list_models(module=torchvision.models) if source == "torchvision"
              else timm.list_models())
    required = {n for n in listed for p in REQUIRED[source] if fnmatch.fnmatch(n, p)}
    assert len(required) >= (17 if source == "torchvision" else 10)
    missing = {n: catalog.data()["libraries"][source]["refused"].get(n) for n in required
               if n not in catalog.entries(source)}
    assert not missing


@pytest.mark.parametrize("source", sorted(REQUIRED))
def test_every_library_name_plans(source):
    for name in catalog.entries(source):
        plan = make_plan(model=f"{source}:{name}", strategy="dWr", factor=2)
        assert plan.base.name == f"{source}:{name}" and plan.achieved_factor > 1


@pytest.mark.parametrize("family", ["convnext", "vit"])
def test_every_library_name_of_a_zoo_entry_is_that_entry(family):
    import importlib

    names = importlib.import_module(f"fastscale.families.{family}").LIBRARY_NAMES
    assert names
    for zoo_name, by_library in names.items():
        entry = zoo.get(zoo_name)
        for source, name in by_library.items():
            base = zoo.get(f"{source}:{name}")
            assert base.spec == entry.spec and base.resolution == entry.resolution, f"{source}:{name}"
            assert base.spec.complexity(base.resolution) == entry.spec.complexity(entry.resolution)


def test_library_names_are_checked_with_a_fix():
    with pytest.raises(ScalingError, match="not a timm model") as err:
        zoo.get("timm:efficientnet_b9")
    assert "GET /models?source=timm" in err.value.allowed
    with pytest.raises(ScalingError, match="unknown library"):
        zoo.get("keras:resnet50")
    assert zoo.get("TIMM:EfficientNet_B0").name == "timm:efficientnet_b0"


def test_the_api_side_needs_no_library():
    code = ("import sys, json\n"
            "from fastscale import make_plan\n"
            "from fastscale.interop import catalog\n"
            "from fastscale.interop.export import export, snippet\n"
            "p = make_plan(model='torchvision:regnet_y_400mf', strategy='dWr', factor=4)\n"
            "snippet(export(p, 'torchvision')); export(p, 'pycls'); catalog.entries('timm')\n"
            "print(json.dumps(sorted(m for m in ('torch', 'torchvision', 'timm', 'fvcore') if m in sys.modules)))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []
