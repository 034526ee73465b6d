"""ConvNeXt and ViT specs: closed forms equal the layer network, the built torch module counts
as the analytic figures say (fastscale.build.verify, meta device), specs read back from JSON and
refuse bad fields naming them, and planning keeps the families' quantization and accuracy."""

from __future__ import annotations

import pytest

from fastscale import zoo
from fastscale.errors import ScalingError
from fastscale.families import spec_from_dict
from fastscale.families.convnext import LIBRARY_NAMES as CONVNEXT_NAMES
from fastscale.families.vit import LIBRARY_NAMES as VIT_NAMES
from fastscale.layers.cx import Cx
from fastscale.planning.planner import make_plan
from fastscale.strategies import NAMED

NAMES = [*CONVNEXT_NAMES, *VIT_NAMES]
SMALL = ("ConvNeXt-T", "ViT-Ti/16")


def _network_figures(spec, resolution: int) -> dict:
    cx = Cx(resolution, resolution)
    spec.network().complexity(cx)
    return cx.totals()


def _plans():
    for base in SMALL:
        for strategy in NAMED:
            for factor in (0.5, 3):
                yield base, strategy, factor


@pytest.mark.parametrize("name", NAMES)
def test_closed_form_equals_the_layer_network_for_the_zoo(name):
    entry = zoo.get(name)
    assert entry.spec.complexity(entry.resolution) == _network_figures(entry.spec, entry.resolution)


@pytest.mark.parametrize(("base", "strategy", "factor"), list(_plans()))
def test_scaled_plans_closed_form_and_built_module_agree(base, strategy, factor):
    torch = pytest.importorskip("torch")  # noqa: F841
    from fastscale.build.verify import verify_plan

    plan = make_plan(model=base, strategy=strategy, factor=factor, resolution=96)
    assert plan.complexity == _network_figures(plan.arch, plan.resolution)
    check = verify_plan(plan)
    assert check.ok, check.to_dict()


@pytest.mark.parametrize("name", NAMES)
def test_zoo_built_module_counts_as_the_analytic_figures(name):
    pytest.importorskip("torch")
    from fastscale.build.verify import verify

    entry = zoo.get(name)
    check = verify(entry.spec, entry.resolution)
    assert check.ok, check.to_dict()


@pytest.mark.parametrize("name", NAMES)
def test_spec_json_round_trip(name):
    spec = zoo.get(name).spec
    assert spec_from_dict(spec.to_dict()) == spec


@pytest.mark.parametrize(("data", "field"), [
    ({"family": "vit", "depth": 12, "dim": 200}, "spec.dim"),
    ({"family": "vit", "depth": 0, "dim": 192}, "spec.depth"),
    ({"family": "vit", "depth": 12, "dim": 192, "heads": 3}, "spec.heads"),
    ({"family": "convnext", "depths": [3, 3, 9, 3], "widths": [96, 192]}, "spec.widths"),
    ({"family": "convnext", "depths": [3, 3, 9, 3]}, "spec.widths"),
    ({"family": "convnext", "depths": [3], "widths": [96], "kernel": 4}, "spec.kernel"),
])
def test_bad_specs_are_refused_naming_the_field(data, field):
    with pytest.raises(ScalingError) as err:
        spec_from_dict(data)
    assert err.value.field == field


def test_reference_rounding_and_group_width_are_refused_for_the_new_families():
    with pytest.raises(ScalingError) as err:
        make_plan(model="ViT-S/16", strategy="dWr", factor=2, rounding="pycls")
    assert err.value.field == "rounding"
    with pytest.raises(ScalingError) as err:
        make_plan(model="ConvNeXt-T", strategy="d1_w8_g8_r1", factor=2)
    assert err.value.field == "strategy"


@pytest.mark.parametrize("strategy", NAMED)
def test_vit_plans_keep_head_dim_patch_steps_and_a_matching_position_embedding(strategy):
    base = zoo.get("ViT-S/16").spec
    for factor in (0.5, 2, 8):
        plan = make_plan(model="ViT-S/16", strategy=strategy, factor=factor)
        arch = plan.arch
        assert arch.dim % 64 == 0 and arch.heads == arch.dim // 64 and arch.mlp_ratio == base.mlp_ratio
        assert plan.resolution % 16 == 0 and arch.img_size == plan.resolution
        if "r" not in strategy:
            assert plan.resolution == 224
        if plan.resolution != 224:  # more tokens: a longer position embedding, more params
            grown = arch.complexity(plan.resolution)["params"] - arch.at_resolution(224).complexity(224)["params"]
            assert grown == arch.dim * ((plan.resolution // 16) ** 2 - 14 ** 2)


@pytest.mark.parametrize("strategy", [s for s in NAMED if "r" not in s])
def test_convnext_plans_without_r_are_within_two_percent(strategy):
    for factor in (1.5, 2, 4, 16, 64):
        plan = make_plan(model="ConvNeXt-T", strategy=strategy, factor=factor)
        assert abs(plan.achieved_factor / factor - 1) <= 0.02, (factor, plan.arch)
        assert all(w % 8 == 0 for w in plan.arch.widths) and plan.resolution == 224


def test_resolution_override_gives_the_vit_a_matching_position_embedding():
    plan = make_plan(model="ViT-Ti/16", strategy="w", factor=2, resolution=96)
    assert plan.base.spec.img_size == 96 and plan.arch.img_size == 96


def test_vit_at_a_resolution_its_embedding_was_not_built_for_is_refused():
    with pytest.raises(ScalingError) as err:
        zoo.get("ViT-S/16").spec.complexity(256)
    assert err.value.field == "resolution"


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("library", ["timm", "torchvision"])
def test_library_kwargs_read_back_as_the_same_spec(name, library):
    spec = make_plan(model=name, strategy="dWr", factor=2).arch
    assert type(spec).from_library(library, spec.library()[library]) == spec


def test_resolutions_too_small_for_the_network_are_refused_and_never_planned():
    with pytest.raises(ScalingError) as err:
        make_plan(model="ConvNeXt-T", strategy="w", factor=2, resolution=16)
    assert err.value.field == "resolution" and "at least 32" in err.value.allowed
    plan = make_plan(model="ConvNeXt-T", strategy="r", factor=1 / 16, resolution=64)
    assert plan.resolution >= 32
