"""Exports of the grid, built by the real libraries and counted by fvcore.

Every grid plan a library can express (tests/interop/grid.py; about 2,200 recipes) is built by
that library from its recipe with each stage's depth capped at 2 (every distinct block of the
network; the library repeats one block for the rest of a stage): params equal fastscale's for the
capped architecture, flops and acts equal fvcore's formulas on the library modules' shapes, and a
forward pass at the plan's resolution gives (1, num_classes) logits. A deterministic sample of the
full, uncapped networks (SAMPLE) is built whole: params
equal the plan's, and fvcore's traced count (unit by unit, on real CPU tensors) equals its flops
and acts. Building the ~2,200 full networks takes ~20 min on CI's CPUs, hence the split.
"""

from __future__ import annotations

import json

import pytest

from fastscale import zoo
from fastscale.interop.common import Inexpressible
from fastscale.interop.export import library_recipe
from tests.interop.counting import build, capped, capped_arch, shape_counts, unit_counts
from tests.interop.grid import LIBRARIES, plans

pytest.importorskip("fvcore")


def exported(base: str, library: str) -> list:
    out = []
    for plan in plans(base):
        try:
            out.append((plan, library_recipe(library, plan.arch, plan.resolution)))
        except Inexpressible:
            continue
    return out


_MODELS: dict[str, object] = {}
_COUNTS: dict[tuple, dict] = {}


def counted(recipe: dict, resolution: int) -> dict:
    """``shape_counts`` of the recipe's model, each distinct model built once and counted once per
    resolution (plans that differ only in depth cap to the same model; many share one)."""
    key = json.dumps([recipe["constructor"], recipe["kwargs"]], sort_keys=True)
    if (key, resolution) not in _COUNTS:
        if key not in _MODELS:
            _MODELS[key] = build(recipe)
        _COUNTS[key, resolution] = shape_counts(_MODELS[key], resolution)
    return _COUNTS[key, resolution]


@pytest.mark.parametrize("library", LIBRARIES)
@pytest.mark.parametrize("base", zoo.paper_names())
def test_every_grid_export_builds_exactly(base, library):
    for plan, recipe in exported(base, library):
        named = recipe["constructor"] == "timm.create_model"  # a timm model by name: built whole
        arch = plan.arch if named else capped_arch(plan.arch)
        want = arch.complexity(plan.resolution)
        got = counted(recipe if named else capped(recipe), plan.resolution)
        label = f"{library} {base} {plan.strategy.name} x{plan.requested_factor:g} {plan.rounding}"
        assert {k: got[k] for k in want} == want, label
        assert got["logits"] == (1, plan.arch.num_classes), label


# Per base and library: the first expressible plan (d x1.5) and the 19th (dw x1.5 when all are).
SAMPLE = [(b, lib, i) for b in ("RegNetX-200MF", "RegNetY-400MF", "ResNet-50", "EfficientNet-B0")
          for lib in LIBRARIES for i in (0, 18)]


@pytest.mark.parametrize("base,library,which", SAMPLE)
def test_sampled_full_networks_match_fvcore(base, library, which):
    items = exported(base, library)
    if not items:
        pytest.skip(f"{library} expresses no plan of {base}")
    plan, recipe = items[min(which, len(items) - 1)]
    model = build(recipe)
    shapes = shape_counts(model, plan.resolution)
    traced, logits = unit_counts(model, plan.resolution)
    assert shapes["params"] == plan.complexity["params"]
    assert traced == {k: plan.complexity[k] for k in ("flops", "acts")}
    assert {k: shapes[k] for k in ("flops", "acts")} == traced
    assert logits == (1, plan.arch.num_classes)
