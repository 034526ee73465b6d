"""Every library name fastscale lists is that library's model: params equal the library model's,
and flops and acts equal fvcore's counts of it at the base resolution.

fvcore traces each distinct unit of the library's model (stem parts, blocks, head) on real CPU
tensors at the shape it sees in the whole model (tests/interop/counting.py): a unit's count does
not depend on the other units, and the sum is the whole model's (test_units_sum_to_the_whole).
The largest SEER RegNets (over 250M params: their units alone take GBs and minutes on CI's CPUs)
are held to fvcore's per-op formulas on their shapes instead (``shape_counts``).
"""

from __future__ import annotations

import pytest
import torch

from fastscale import zoo
from fastscale.interop import catalog
from fastscale.interop.library_build import build_named, weightless
from tests.interop.counting import fvcore_counts, materialized, shape_counts, unit_counts

pytest.importorskip("fvcore")
pytest.importorskip("timm")
TRACED_UP_TO = 250_000_000
NAMES = [(s, n) for s in ("torchvision", "timm") for n in catalog.entries(s)]


@pytest.mark.parametrize("source,name", NAMES, ids=[f"{s}:{n}" for s, n in NAMES])
def test_base_equals_the_library_model(source, name):
    base = zoo.get(f"{source}:{name}")
    want = base.spec.complexity(base.resolution)
    with weightless():
        model = build_named(source, name).eval()
    counted = shape_counts(model, base.resolution)
    assert counted["params"] == want["params"]
    assert counted["logits"] == (1, base.spec.num_classes)
    if want["params"] <= TRACED_UP_TO:
        counted, _ = unit_counts(model, base.resolution)
    assert {k: counted[k] for k in ("flops", "acts")} == {k: want[k] for k in ("flops", "acts")}


@pytest.mark.parametrize("source,name", [("torchvision", "regnet_y_400mf"), ("timm", "resnet50"),
                                         ("timm", "efficientnet_b0")])
def test_units_sum_to_the_whole(source, name):
    base = zoo.get(f"{source}:{name}")
    with weightless():
        model = build_named(source, name).eval()
    whole = fvcore_counts(materialized(model), torch.zeros(1, 3, base.resolution, base.resolution))
    assert unit_counts(model, base.resolution)[0] == whole
