"""A zoo model's exported config is a full pycls config that pycls can train (issue 24).

pycls reads a config by merging it into its defaults (yacs): an unknown key or a value whose type
differs from the default's is refused, a missing key keeps its default. So the export is checked
as yacs checks it, against pycls's defaults (fastscale.pycls.defaults, recorded from pycls
5719de6), and for the invariants ``pycls.core.config.assert_cfg`` asserts; with pycls itself
installed, it is loaded, checked and built by pycls, and its parameter count compared.
(Done on this machine for all 36 zoo models under dWr x4 and w x2: all loaded, built, params equal.)
"""

from __future__ import annotations

import pytest
import yaml

from fastscale import zoo
from fastscale.planning.planner import make_plan
from fastscale.pycls import plan_yaml
from fastscale.pycls.defaults import SECTIONS, TOP_LEVEL


def _same_type(value, default) -> bool:
    if isinstance(default, float):
        return isinstance(value, (int, float)) and not isinstance(value, bool)  # yacs casts int to float
    if isinstance(default, list):
        return isinstance(value, (list, tuple))
    return type(value) is type(default)


# The pycls-exportable zoo: pycls has no ConvNeXt or ViT, and their export is refused (a 422 naming why).
@pytest.mark.parametrize("name", zoo.paper_names())
def test_every_zoo_export_is_a_full_trainable_pycls_config(name):
    plan = make_plan(model=name, strategy="dWr", factor=4)
    config = yaml.safe_load(plan_yaml(plan))
    assert set(config) == set(SECTIONS) | set(TOP_LEVEL)
    for section, keys in SECTIONS.items():
        assert set(config[section]) == set(keys), section
        for key, default in keys.items():
            assert _same_type(config[section][key], default), (section, key, config[section][key])
    for key, default in TOP_LEVEL.items():
        assert _same_type(config[key], default), key
    assert config["MODEL"]["TYPE"] == plan.arch.family and config["MODEL"]["NUM_CLASSES"] == 1000
    assert config["TRAIN"]["DATASET"] == config["TEST"]["DATASET"] == "imagenet"  # pycls's default "" cannot train
    assert config["TRAIN"]["IM_SIZE"] == plan.resolution
    assert config["TRAIN"]["BATCH_SIZE"] % config["NUM_GPUS"] == 0 and config["TEST"]["BATCH_SIZE"] % config["NUM_GPUS"] == 0
    assert config["TRAIN"]["SPLIT"] == "train" and config["TEST"]["SPLIT"] == "val" and config["LOG_DEST"] == "stdout"
    assert config["MODEL"]["SCALING_FACTOR"] == 1.0  # already scaled: pycls must not scale it again


def test_pycls_itself_loads_builds_and_counts_the_export():
    config_mod = pytest.importorskip("pycls.core.config", reason="pycls (5719de6) is not installed here")
    builders = pytest.importorskip("pycls.core.builders")
    import tempfile

    for name in ("RegNetY-400MF", "EfficientNet-B0", "ResNet-50"):
        plan = make_plan(model=name, strategy="dWr", factor=4)
        config_mod.reset_cfg()
        with tempfile.NamedTemporaryFile("w", suffix=".yaml") as fh:
            fh.write(plan_yaml(plan))
            fh.flush()
            config_mod.cfg.merge_from_file(fh.name)
        config_mod.assert_cfg()
        model = builders.get_model()()
        assert sum(p.numel() for p in model.parameters()) == plan.complexity["params"]
