"""Reading pycls configs: each file means what pycls (commit 5719de6) makes of it.

Expected values come from running pycls itself (tests/data/pycls/README.md): complexity of every
stored config, and probes that edit a real config to leave a key to pycls's default or to make
pycls fail. A probe pycls builds must import with pycls's figures; a probe pycls refuses must be
refused with the key named; the few that pycls builds and fastscale refuses are listed with why.
"""

from __future__ import annotations

import pytest
import yaml

from fastscale import pycls
from fastscale.errors import ScalingError
from fastscale.families import AnyNetSpec, RegNetSpec
from fastscale.planning.planner import make_plan
from tests.core.pycls.pycls_expected import config_text, expected

IMPORTS = expected()["imports"]
PROBES = expected()["probes"]
ACTIVATION = {"relu": "relu", "silu": "silu", "swish": "silu"}

# pycls fails on these; the key fastscale must name (the key the pycls error comes from).
REFUSED = {
    "type_RegNet": "spec.MODEL.TYPE", "type_empty": "spec.MODEL.TYPE", "model_null": "spec.MODEL",
    "bottleneck_no_bot_muls": "spec.ANYNET.BOT_MULS", "bottleneck_no_group_ws": "spec.ANYNET.GROUP_WS",
    "effnet_se_r_zero": "spec.EN.SE_R", "se_r_int": "spec.EN.SE_R", "unknown_key": "spec.ANYNET.FOO",
    "unknown_section": "spec.FOO", "deprecated_key": "spec.TRAIN2", "wa_int": "spec.REGNET.WA",
    "se_on_int": "spec.REGNET.SE_ON", "im_size_float": "spec.TRAIN.IM_SIZE",
    "im_size_float_int": "spec.TRAIN.IM_SIZE", "im_size_abc": "spec.TRAIN.IM_SIZE",
    "im_size_list": "spec.TRAIN.IM_SIZE", "act_tanh": "spec.MODEL.ACTIVATION_FUN",
    "bad_stem": "spec.ANYNET.STEM_TYPE", "bad_block": "spec.ANYNET.BLOCK_TYPE",
    "num_classes_null": "spec.MODEL.NUM_CLASSES", "group_gt_wb": "spec.ANYNET.GROUP_WS[0]",
    "resnet_no_dataset": "spec.TRAIN.DATASET", "resnet_test_dataset_bad": "spec.TEST.DATASET",
    "resnet_depth34": "spec.MODEL.DEPTH", "resnet_cifar_depth51": "spec.MODEL.DEPTH",
    "resnet_imagenet_basic": "spec.RESNET.TRANS_FUN", "resnet_cifar_bottleneck": "spec.RESNET.TRANS_FUN",
}
# pycls builds these, fastscale refuses them on purpose (its own limits), naming the key.
FASTSCALE_LIMITS = {
    "im_size_neg": "spec.TRAIN.IM_SIZE",  # -8 px: pycls counts garbage and cannot run it
    "act_gelu": "spec.MODEL.ACTIVATION_FUN",  # gelu is not in fastscale's layer vocabulary
    "type_vit": "spec.MODEL.TYPE",  # transformers are not modelled
    "group_not_dividing": "spec.ANYNET.GROUP_WS[0]",  # pycls silently uses another group width
    "group_bad": "spec.ANYNET.GROUP_WS[0]",
    "resnet_cifar_depth2": "spec.MODEL.DEPTH",  # zero blocks: pycls's head no longer matches its stem
}
BUILDS = sorted(n for n, p in PROBES.items() if p["pycls"] == "builds" and n not in FASTSCALE_LIMITS)


def test_every_probe_is_checked():
    assert set(BUILDS) | set(REFUSED) | set(FASTSCALE_LIMITS) == set(PROBES)
    assert all(PROBES[n]["pycls"] == "fails" for n in REFUSED)


@pytest.mark.parametrize("path", sorted(IMPORTS))
def test_stored_config_imports_with_pycls_figures(path):
    train, test, flops, params, acts = IMPORTS[path]
    source = pycls.read_text(config_text(path))
    assert (source.train_size, source.test_size) == (train, test)
    assert source.spec.complexity(train) == {"flops": flops, "params": params, "acts": acts}


@pytest.mark.parametrize("name", BUILDS)
def test_probe_pycls_builds_imports_with_its_figures(name):
    probe = PROBES[name]
    source = pycls.read_text(probe["yaml"])
    assert (source.train_size, source.test_size) == (probe["train_im"], probe["test_im"])
    flops, params, acts = probe["complexity"]
    assert source.spec.complexity(source.train_size) == {"flops": flops, "params": params, "acts": acts}
    assert source.spec.activation == ACTIVATION[probe["activation"].lower()]


@pytest.mark.parametrize("name,field", sorted({**REFUSED, **FASTSCALE_LIMITS}.items()))
def test_probe_refused_naming_the_key(name, field):
    with pytest.raises(ScalingError) as err:
        pycls.read_text(PROBES[name]["yaml"])
    assert err.value.field == field
    assert len(str(err.value)) < 400


@pytest.mark.parametrize("name", sorted(PROBES))
def test_parsed_config_gets_the_same_checks_as_its_text(name):
    """A spec sent as a JSON object with MODEL goes through exactly the YAML text's checks."""
    text = PROBES[name]["yaml"]
    try:
        want = make_plan(spec=text, factor=1).to_dict()
    except ScalingError as exc:
        with pytest.raises(ScalingError) as err:
            make_plan(spec=yaml.safe_load(text), factor=1)
        assert err.value.field == exc.field
    else:
        assert make_plan(spec=yaml.safe_load(text), factor=1).to_dict() == want


def test_defaults_num_classes_is_10():
    spec = pycls.read_text(PROBES["r50_no_num_classes"]["yaml"]).spec
    assert spec.num_classes == 10 and spec.complexity(224)["flops"] == 4_087_156_746  # pycls, probe above


def test_defaults_effnet_activation_is_relu_and_stays_relu_on_export():
    plan = make_plan(spec=PROBES["b0_no_activation"]["yaml"], strategy="w", factor=2)
    assert plan.base.spec.activation == "relu" and plan.arch.activation == "relu"
    assert yaml.safe_load(pycls.plan_yaml(plan))["MODEL"]["ACTIVATION_FUN"] == "relu"


def test_defaults_no_strides_builds_zero_stages_and_round_trips():
    source = pycls.read_text(PROBES["r50_no_strides"]["yaml"])
    assert isinstance(source.spec, AnyNetSpec) and source.spec.depths == ()
    plan = make_plan(spec=PROBES["r50_no_strides"]["yaml"], strategy="dWr", factor=4)
    assert pycls.read_text(pycls.plan_yaml(plan)).spec == plan.arch


def test_defaults_regnet_depth_w0_wa_wm_group_w():
    spec = pycls.read_text(PROBES["regnet_all_defaults"]["yaml"]).spec
    assert isinstance(spec, RegNetSpec)
    assert (spec.depth, spec.w0, spec.wa, spec.wm, spec.group_w, spec.bot_mul) == (10, 32, 5.0, 2.5, 16, 1.0)


def test_defaults_image_sizes_and_string_literals():
    assert pycls.read_text(PROBES["no_im_sizes"]["yaml"]).train_size == 224
    assert pycls.read_text(PROBES["im_size_string"]["yaml"]).train_size == 128  # '128' reads as 128 in pycls


def test_resnet_with_pycls_default_stride_1x1_counts_and_builds_like_pycls():
    """STRIDE_1X1 true (pycls's default) strides the first 1x1 conv: fewer flops than stride on the 3x3."""
    from fastscale.build.verify import count

    probe = PROBES["resnet_R50_default_stride1x1"]
    spec = pycls.read_text(probe["yaml"]).spec
    assert spec.block_type == "res_bottleneck_msra_block"
    assert list(count(spec, 224).values()) == probe["complexity"]  # the built module, counted by torch


@pytest.mark.parametrize("name", ["cifar/{}/R-56_nds_1gpu", "cifar/{}/R-110_nds_1gpu",
                                  "imagenet/{}/R-50-1x64d_step_8gpu", "imagenet/{}/X-101-32x4d_step_8gpu"])
def test_resnet_is_the_anynet_pycls_keeps_beside_it(name):
    """pycls's archive has each ResNet as a resnet and as an anynet config: both read to one spec."""
    resnet, anynet = (pycls.read_text(config_text(f"configs/archive/{name.format(kind)}.yaml")).spec
                      for kind in ("resnet", "anynet"))
    assert resnet == anynet
