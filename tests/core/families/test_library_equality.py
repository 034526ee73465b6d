"""ConvNeXt and ViT zoo entries against the real libraries (CPU): parameters equal timm's and
torchvision's models exactly, and flops and acts equal fvcore's count of the library model with
explicit attention (README, "What the numbers mean").

fvcore runs the model, so the full-depth check runs for the two smallest entries; every entry's
widths are checked at full resolution with one block per stage (each block of a stage is the
same, so depth only multiplies what one block costs), and FASTSCALE_FULL_LIBRARY=1 runs all eight
at full depth (the branch's note reports that run).
"""

from __future__ import annotations

import os
from dataclasses import replace

import pytest

from fastscale import zoo
from fastscale.families.convnext import LIBRARY_NAMES as CONVNEXT_NAMES
from fastscale.families.vit import LIBRARY_NAMES as VIT_NAMES
from tests.core.families.library import fvcore_counts, params, timm_model, torchvision_model

pytest.importorskip("torch")
NAMES = {**CONVNEXT_NAMES, **VIT_NAMES}
LIBRARIES = {"timm": timm_model, "torchvision": torchvision_model}
FULL = os.environ.get("FASTSCALE_FULL_LIBRARY") == "1"


def _library_case(name: str):
    for library, constructor in NAMES[name].items():
        yield pytest.param(name, library, constructor, id=f"{name}-{library}")


@pytest.mark.parametrize(("name", "library", "constructor"), [c for n in NAMES for c in _library_case(n)])
def test_zoo_params_equal_the_library_model(name, library, constructor):
    entry = zoo.get(name)
    model = LIBRARIES[library](constructor) if library == "torchvision" else timm_model(constructor, storage=False)
    assert params(model) == entry.spec.complexity(entry.resolution)["params"]


@pytest.mark.parametrize("name", list(NAMES) if FULL else ["ConvNeXt-T", "ViT-Ti/16"])
def test_zoo_counts_equal_fvcore_on_the_timm_model(name):
    entry = zoo.get(name)
    model = timm_model(NAMES[name]["timm"])
    assert entry.spec.complexity(entry.resolution) == fvcore_counts(model, entry.resolution)


def _one_block_per_stage(spec):
    return replace(spec, depth=1) if spec.family == "vit" else replace(spec, depths=(1,) * len(spec.depths))


@pytest.mark.parametrize("name", list(NAMES))
def test_every_zoo_width_counts_as_fvcore_at_one_block_per_stage(name):
    entry = zoo.get(name)
    spec = _one_block_per_stage(entry.spec)
    model = timm_model(family=spec.family, **spec.library()["timm"])
    assert spec.complexity(entry.resolution) == fvcore_counts(model, entry.resolution)


@pytest.mark.parametrize("name", ["ConvNeXt-T", "ViT-B/16"])
def test_library_kwargs_rebuild_the_same_network_in_both_libraries(name):
    spec = zoo.get(name).spec
    kwargs = spec.library()
    expected = spec.complexity(zoo.get(name).resolution)["params"]
    assert params(timm_model(family=spec.family, storage=False, **kwargs["timm"])) == expected
    assert params(torchvision_model(family=spec.family, **kwargs["torchvision"])) == expected


# Shallow bases with the small zoo entries' widths: fvcore traces every op of the model it
# counts, so its time grows with the blocks; exactness does not depend on the size.
SHALLOW = {"convnext": {"family": "convnext", "depths": [1, 1, 2, 1], "widths": [96, 192, 384, 768]},
           "vit": {"family": "vit", "depth": 2, "dim": 192, "img_size": 64}}


def _scaled(family: str):
    from fastscale.strategies import NAMED

    for strategy in NAMED:
        yield pytest.param(family, strategy, id=f"{family}-{strategy}")


@pytest.mark.parametrize(("family", "strategy"), [*_scaled("convnext"), *_scaled("vit")])
def test_scaled_plans_equal_fvcore_and_both_libraries(family, strategy):
    """A grid of scaled plans (every strategy, x3, from a shallow 64 px base) rebuilt from the
    plan's library kwargs: fvcore's flops and acts, and both libraries' params."""
    from fastscale.planning.planner import make_plan

    plan = make_plan(spec=SHALLOW[family], strategy=strategy, factor=3, resolution=64)
    kwargs = plan.arch.library()
    model = timm_model(family=plan.arch.family, **kwargs["timm"])
    assert plan.complexity == fvcore_counts(model, plan.resolution)
    assert params(torchvision_model(family=plan.arch.family, **kwargs["torchvision"])) == plan.complexity["params"]
