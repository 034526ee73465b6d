"""Writing scaled configs: the source file with only the model and the image sizes changed.

The reference is pycls's own ``scale_model()`` on the same files (tests/data/pycls/README.md):
with ``rounding: pycls`` the exported model, ``TRAIN.IM_SIZE`` and ``TEST.IM_SIZE`` must be what
pycls writes, and its complexity what pycls counts, in all 738 cases.
"""

from __future__ import annotations

import json
from collections import defaultdict

import pytest
import yaml

from fastscale import pycls
from fastscale.errors import ScalingError
from fastscale.planning.planner import Plan, make_plan
from fastscale.pycls.defaults import SECTIONS, TOP_LEVEL, default
from fastscale.pycls.merge import effective
from fastscale.pycls.stored import plan_json_yaml
from tests.core.pycls.pycls_expected import config_text, expected, scale_cases

SCALED = expected()["scaled"]
CASES = defaultdict(list)
for _path, _strategy, _factor in scale_cases():
    CASES[_path].append((_strategy, _factor))
MODEL_SECTIONS = ("ANYNET", "REGNET", "EN", "RESNET")
MODEL_KEYS = {"MODEL.TYPE", "MODEL.NUM_CLASSES", "MODEL.ACTIVATION_FUN", "MODEL.DEPTH", "TRAIN.IM_SIZE",
              "TEST.IM_SIZE"}


def is_model_key(path: str) -> bool:
    section, _, key = path.partition(".")
    return path in MODEL_KEYS or (section in MODEL_SECTIONS and key not in ("DC_RATIO", "DROPOUT_RATIO"))


def flat(config: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in config.items():
        if isinstance(value, dict):
            out.update(flat(value, f"{prefix}{key}."))
        else:
            out[prefix + key] = value
    return out


@pytest.mark.parametrize("path", sorted(CASES))
def test_scaled_config_is_what_pycls_scale_model_writes(path):
    text = config_text(path)
    for strategy, factor in CASES[path]:
        train, test, flops, params, acts, lists = SCALED[f"{path}|{strategy}|{factor}"]
        plan = make_plan(spec=text, strategy=strategy, factor=factor, rounding="pycls")
        config = yaml.safe_load(pycls.plan_yaml(plan))
        section = config["EN"] if plan.arch.family == "effnet" else config["ANYNET"]
        case = (strategy, factor)
        assert {k: section[k.upper()] for k in lists} == lists, case
        assert (config["TRAIN"]["IM_SIZE"], config["TEST"]["IM_SIZE"]) == (train, test), case
        assert plan.complexity == {"flops": flops, "params": params, "acts": acts}, case
        assert pycls.read_text(pycls.plan_yaml(plan)).spec.network() == plan.arch.network(), case


def test_the_256_224_rule_would_miss_pycls_test_size_often():
    """Guard that the data exercises the rule: the old formula differs from pycls in 86 of the 540
    dds_baselines cases of the strategies d, w, r, dwr, dWr (the issue counted 85)."""
    misses = sum(1 for key, (train, test, *_) in SCALED.items()
                 if "dds_baselines" in key and key.split("|")[1] != "d1_w8_g8_r1"
                 and round(train * 256 / 224 / 4) * 4 != test)
    assert misses == 86


@pytest.mark.parametrize("path", sorted(expected()["imports"]))
@pytest.mark.parametrize("rounding", ["nearest", "pycls"])
def test_every_non_model_key_is_kept(path, rounding):
    source = yaml.safe_load(config_text(path))
    plan = make_plan(spec=config_text(path), strategy="dWr", factor=4, rounding=rounding)
    out = pycls.plan_config(plan)
    before, after = flat(source), flat(out)
    assert {k: v for k, v in after.items() if not is_model_key(k)} == \
        {k: v for k, v in before.items() if not is_model_key(k)}
    assert out["MODEL"]["TYPE"] in ("anynet", "effnet") and "RESNET" not in out and "REGNET" not in out


def test_every_pycls_setting_survives_the_round_trip():
    """A file that sets every non-model key of pycls's schema to a non-default value."""
    bump = {bool: lambda v: not v, int: lambda v: v + 3, float: lambda v: v + 0.5, str: lambda v: v + "x",
            list: lambda v: [7, 8]}
    config = {s: {k: bump[type(v)](v) for k, v in keys.items()} for s, keys in SECTIONS.items()
              if s not in MODEL_SECTIONS + ("MODEL",)}
    config.update({k: bump[type(v)](v) for k, v in TOP_LEVEL.items()})
    config["TRAIN"].update(IM_SIZE=160)
    config["TEST"].update(IM_SIZE=182)
    config["EN"] = {"DEPTHS": [1, 2], "WIDTHS": [16, 24], "EXP_RATIOS": [1, 6], "KERNELS": [3, 5],
                    "STRIDES": [1, 2], "DC_RATIO": 0.2, "DROPOUT_RATIO": 0.3, "STEM_W": 32, "HEAD_W": 640}
    config.update(MODEL={"TYPE": "effnet", "LOSS_FUN": "cross_entropy", "ACTIVATION_INPLACE": False}, PORT=1)
    plan = make_plan(spec=yaml.safe_dump(config), strategy="dwr", factor=2, rounding="pycls")
    before, after = effective(config), effective(pycls.plan_config(plan))
    kept = [k for k in before if not is_model_key(k)]  # all 93 non-model keys of pycls's schema
    changed = [k for k in kept if before[k] != default(k)]
    assert len(kept) == 93 and len(changed) >= 88  # (MODEL.LOSS_FUN, SCALING_*... stay at defaults)
    assert {k: after[k] for k in kept} == {k: before[k] for k in kept}
    assert after["MODEL.ACTIVATION_INPLACE"] is False and flat(pycls.plan_config(plan))["PORT"] == 1


def test_test_size_follows_the_source_under_nearest_rounding():
    text = config_text("configs/dds_baselines/effnet/EN-B4_dds_8gpu.yaml")  # TRAIN 380, TEST 434
    plan = make_plan(spec=text, strategy="r", factor=2)
    assert pycls.plan_config(plan)["TEST"]["IM_SIZE"] == round(434 * plan.resolution / 380 / 4) * 4
    plan = make_plan(spec=text, strategy="w", factor=2)
    assert pycls.plan_config(plan)["TEST"]["IM_SIZE"] == 432  # r = 1: pycls's round(434 / 4) * 4


def test_zoo_models_keep_the_256_224_rule():
    plan = make_plan("EfficientNet-B4", strategy="w", factor=2)
    config = pycls.plan_config(plan)
    assert config["TEST"]["IM_SIZE"] == 436 and {"MODEL", "EN", "TRAIN", "TEST", "OPTIM"} <= set(config)  # full: test_full_config
    assert plan.to_dict()["base"]["pycls_config"] is None


def test_plan_json_carries_the_source_and_gives_the_same_text():
    text = config_text("configs/archive/cifar/anynet/R-56_nds_1gpu.yaml")
    plan = make_plan(spec=text, strategy="dWr", factor=4, rounding="pycls")
    stored = json.loads(json.dumps(plan.to_dict()))
    assert stored["base"]["pycls_config"] == yaml.safe_load(text)
    assert plan_json_yaml(stored) == pycls.plan_yaml(plan)
    assert yaml.safe_load(pycls.plan_yaml(plan))["TEST"]["IM_SIZE"] == 36  # pycls: 32 * 4**0.05 -> 36, not 40


@pytest.mark.parametrize("tamper,field", [
    (lambda c: c["ANYNET"].update(DEPTHS=[1, 1, 1]), "plan.base.pycls_config"),
    (lambda c: c["ANYNET"].update(FOO=1), "plan.base.pycls_config.ANYNET.FOO"),
    (lambda c: c["TRAIN"].update(IM_SIZE="abc"), "plan.base.pycls_config.TRAIN.IM_SIZE"),
])
def test_tampered_source_in_a_stored_plan_is_refused(tamper, field):
    plan = make_plan(spec=config_text("configs/archive/cifar/anynet/R-56_nds_1gpu.yaml"), factor=2)
    stored = json.loads(json.dumps(plan.to_dict()))
    tamper(stored["base"]["pycls_config"])
    with pytest.raises(ScalingError) as err:
        Plan.from_dict(stored)
    assert err.value.field == field


@pytest.mark.parametrize("se_r", [0.0, 0.01])
def test_effnet_without_se_channels_is_refused_at_export(se_r):
    spec = {"family": "effnet", "stem_w": 32, "depths": [1, 2], "widths": [16, 24], "se_r": se_r}
    plan = make_plan(spec=spec, strategy="d", factor=2)
    with pytest.raises(ScalingError) as err:
        pycls.plan_yaml(plan)
    assert err.value.field == "plan.arch.se_r" and "pycls cannot build" in err.value.message


def test_resnet_with_stride_on_1x1_plans_but_is_not_exported():
    text = expected()["probes"]["resnet_R50_default_stride1x1"]["yaml"]
    plan = make_plan(spec=text, strategy="dWr", factor=2)
    with pytest.raises(ScalingError) as err:
        pycls.plan_yaml(plan)
    assert err.value.field == "plan.arch.block_type" and "STRIDE_1X1: False" in err.value.allowed


def test_resnet_exports_as_the_anynet_and_keeps_its_figures():
    path = "configs/archive/imagenet/resnet/X-50-32x4d_step_8gpu.yaml"
    plan = make_plan(spec=config_text(path), strategy="d", factor=1, rounding="pycls")
    config = pycls.plan_config(plan)
    assert config["MODEL"]["TYPE"] == "anynet" and "DEPTH" not in config["MODEL"]
    train, _, flops, params, acts = expected()["imports"][path]
    assert pycls.read_text(pycls.plan_yaml(plan)).spec.complexity(train) == \
        {"flops": flops, "params": params, "acts": acts}


def test_activation_spelling_of_the_source_is_kept():
    text = expected()["probes"]["act_swish_caps"]["yaml"]
    assert pycls.plan_config(make_plan(spec=text, factor=2))["MODEL"]["ACTIVATION_FUN"] == "Swish"
