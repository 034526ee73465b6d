"""The 36 zoo models of the paper reproduce the reference's exact figures, the 8 ConvNeXt and ViT
entries the libraries' (tests/data/library_zoo_complexity.json, recorded from timm and fvcore;
tests/core/families/test_library_equality.py asks the libraries themselves), and names resolve
as people type them."""

import json

import pytest

from fastscale import zoo
from fastscale.errors import ScalingError
from tests.conftest import DATA

LIBRARY = json.loads((DATA / "library_zoo_complexity.json").read_text())["models"]
REFERENCE_NAMES = [n for n in zoo.names() if n not in LIBRARY]


def test_zoo_has_exactly_the_reference_models_and_the_library_ones(reference_zoo):
    assert sorted(REFERENCE_NAMES) == sorted(reference_zoo)
    assert sorted(set(zoo.names()) - set(REFERENCE_NAMES)) == sorted(LIBRARY)


@pytest.mark.parametrize("name", list(LIBRARY))
def test_library_entries_equal_the_recorded_library_figures(name):
    model = zoo.get(name)
    expected = {k: LIBRARY[name][k] for k in ("flops", "params", "acts")}
    assert model.resolution == 224 and model.spec.complexity(224) == expected


@pytest.mark.parametrize("name", REFERENCE_NAMES)
def test_analytic_complexity_equals_reference_exactly(name, reference_zoo):
    ref = reference_zoo[name]
    model = zoo.get(name)
    assert model.resolution == ref["im_size"]
    got = model.spec.complexity(model.resolution)
    assert got == {"flops": ref["flops"], "params": ref["params"], "acts": ref["acts"]}


@pytest.mark.parametrize("alias,name", [
    ("regnety_400mf", "RegNetY-400MF"), ("REGNETX-1.6GF", "RegNetX-1.6GF"), ("efficientnet_b0", "EfficientNet-B0"),
    ("resnet50", "ResNet-50"), ("ResNeXt_101", "ResNeXt-101"), ("regnetx_1.6gf", "RegNetX-1.6GF"),
    ("vit_s_16", "ViT-S/16"), ("ViT-B-16", "ViT-B/16"), ("convnext_t", "ConvNeXt-T"),
])
def test_names_are_case_insensitive_with_snake_case_aliases(alias, name):
    assert zoo.get(alias).name == name


def test_unknown_model_names_the_field_and_suggests():
    with pytest.raises(ScalingError) as err:
        zoo.get("RegNetZ-400MF")
    assert err.value.field == "model" and "RegNetZ-400MF" in err.value.message


def test_unknown_model_suggests_the_nearest_names_and_counts_the_zoo():
    """RegNetY-400M (a dropped "F") used to suggest five RegNetX models; the nearest names come first now."""
    with pytest.raises(ScalingError) as err:
        zoo.get("RegNetY-400M")
    assert err.value.allowed.startswith("did you mean RegNetY-400MF,")
    assert f"{len(zoo.names())} zoo models" in err.value.allowed and len(zoo.names()) == 44
    with pytest.raises(ScalingError) as err:
        zoo.get("xyzzy")
    assert "did you mean" not in err.value.allowed and "44 zoo models" in err.value.allowed
