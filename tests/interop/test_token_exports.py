"""Exports of ConvNeXt and ViT plans, built by the real libraries.

Every plan of ConvNeXt-T, ViT-Ti/16 and ViT-S/16 x every named strategy x factors 1.5 and 4 is
exported to torchvision and timm, and each recipe is built by its library (weightless: parameters
on the meta device, so full networks are cheap): the parameters equal the plan's exactly, the
library's module tree reads back (``readers.read``, strict about class token, token pooling,
pre-norm, qkv biases, layer scale, stem and head) as exactly the plan's architecture, and a
forward on the meta device gives (1, classes) logits. Flops and acts of these constructors'
networks are held to fvcore by tests/core/families/test_library_equality.py, whose models are
built from the same ``spec.library()`` kwargs. A CPU forward runs one ConvNeXt export (at a small
resolution) and one ViT export for real. Refusals: pycls for both families, a ConvNeXt the
libraries cannot build, and the readers on library variants fastscale's families lack.
"""

from __future__ import annotations

import itertools

import pytest

from fastscale import make_plan
from fastscale.interop import calls
from fastscale.interop.export import Refused, export, reasons
from fastscale.interop.readers import read
from fastscale.strategies import NAMED

torch = pytest.importorskip("torch")
pytest.importorskip("torchvision")
pytest.importorskip("timm")

BASES = ("ConvNeXt-T", "ViT-Ti/16", "ViT-S/16")
FACTORS = (1.5, 4)
LIBRARIES = ("torchvision", "timm")


def built(recipe: dict):
    from tests.interop.counting import build

    return build(recipe)


@pytest.mark.parametrize("library", LIBRARIES)
@pytest.mark.parametrize("base", BASES)
def test_every_plan_exports_and_builds_exactly(base, library):
    seen = set()
    for strategy, factor in itertools.product(NAMED, FACTORS):
        plan = make_plan(model=base, strategy=strategy, factor=factor)
        label = f"{library} {base} {strategy} x{factor:g}"
        recipe = export(plan, library)
        assert reasons(plan)["pycls"] is not None, label
        model = built(recipe)
        assert sum(p.numel() for p in model.parameters()) == plan.complexity["params"], label
        assert read(model) == plan.arch.to_dict(), label
        key = repr(recipe["kwargs"])
        if key not in seen:  # plans that round to one network share their forward
            seen.add(key)
            with torch.no_grad():
                logits = model(torch.empty(1, 3, plan.resolution, plan.resolution, device="meta"))
            assert tuple(logits.shape) == (1, plan.arch.num_classes), label


@pytest.mark.parametrize("library", LIBRARIES)
@pytest.mark.parametrize("base,strategy,resolution", [("ConvNeXt-T", "dw", 64), ("ViT-Ti/16", "d", None)])
def test_an_export_runs_on_the_cpu(base, strategy, resolution, library):
    # ConvNeXt at a small resolution; a ViT's position embedding fixes its input size (the plan's).
    plan = make_plan(model=base, strategy=strategy, factor=1.5)
    recipe = export(plan, library)
    r = resolution or plan.resolution
    with torch.no_grad():
        model = calls.resolve(recipe["constructor"])(**calls.realize(recipe["kwargs"])).eval()
        assert tuple(model(torch.zeros(2, 3, r, r)).shape) == (2, 1000)


def test_the_unscaled_timm_bases_leave_by_their_timm_name():
    plan = make_plan(model="ViT-S/16", strategy="d", factor=1)
    recipe = export(plan, "timm")
    assert recipe["constructor"] == "timm.create_model"
    assert recipe["kwargs"]["model_name"] == "vit_small_patch16_224"


@pytest.mark.parametrize("base", BASES)
def test_pycls_refuses_these_families_and_names_the_libraries(base):
    plan = make_plan(model=base, strategy="dw", factor=4)
    with pytest.raises(Refused) as err:
        export(plan, "pycls")
    assert plan.arch.family in err.value.reason and err.value.can == ["torchvision", "timm"]


def test_a_convnext_the_libraries_cannot_build_is_refused_by_both():
    spec = {"family": "convnext", "depths": [1, 1, 2, 1], "widths": [32, 64, 128, 256], "kernel": 5}
    plan = make_plan(spec=spec, strategy="d", factor=1)
    for library in LIBRARIES:
        with pytest.raises(Refused) as err:
            export(plan, library)
        assert "7x7 kernels" in err.value.reason and err.value.can == []


REFUSED = [  # (library, constructor, kwargs, what the reason names): variants fastscale's families lack
    ("timm", "timm.models.vision_transformer.VisionTransformer", {"global_pool": "avg", "class_token": False},
     "class-token"),
    ("timm", "timm.models.vision_transformer.VisionTransformer", {"init_values": 1e-5}, "LayerScale"),
    ("timm", "timm.models.vision_transformer.VisionTransformer", {"pre_norm": True}, "biased 16x16"),  # no conv bias
    ("timm", "timm.models.vision_transformer.VisionTransformer", {"reg_tokens": 4}, "register"),
    ("timm", "timm.models.vision_transformer.VisionTransformer", {"qkv_bias": False}, "qkv"),
    ("torchvision", "torchvision.models.vision_transformer.VisionTransformer",
     {"image_size": 224, "patch_size": 16, "num_layers": 2, "num_heads": 4, "hidden_dim": 256, "mlp_dim": 1024,
      "representation_size": 128}, "Tanh"),
    ("timm", "timm.models.convnext.ConvNeXt", {"conv_mlp": True}, "MLP layer"),
    ("timm", "timm.models.convnext.ConvNeXt", {"kernel_sizes": 5}, "7x7"),
    ("timm", "timm.models.convnext.ConvNeXt", {"ls_init_value": None}, "layer scale"),
    ("timm", "timm.models.convnext.ConvNeXt", {"head_norm_first": True}, "head"),
]


@pytest.mark.parametrize("library,constructor,kwargs,why", REFUSED, ids=[f"{r[0]}-{r[1].split('.')[-1]}-{r[3]}" for r in REFUSED])
def test_the_readers_refuse_what_the_families_do_not_express(library, constructor, kwargs, why):
    from fastscale.interop.readers import Unreadable

    small = {"depth": 2, "embed_dim": 192, "num_heads": 3} if "vision" in constructor and library == "timm" else {}
    model = built({"constructor": constructor, "kwargs": {**small, **kwargs}})
    with pytest.raises(Unreadable, match=why):
        read(model)
