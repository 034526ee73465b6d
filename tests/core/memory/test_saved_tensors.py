"""The analytic saved-activation bytes against what autograd really saves (CPU, real modules).

Ground truth: the unique non-parameter storages ``saved_tensors_hooks`` sees in one training
forward of the built model (fastscale.memory.groundtruth). Held within 2 % (in practice exact) for
all 36 zoo models and for scaled models of every strategy, in float32 and under bfloat16 autocast.

Affordable on 2 CI cores: batch 1 at a reduced resolution (64 px for the zoo, a quarter of the
scaled resolution for scaled models, so resolution strategies still change what is measured).
The analytic model takes resolution and batch as inputs; nothing in it depends on them beyond
the sizes, and an ad-hoc run at native resolution matched exactly too (see the branch report).
"""

import pytest

torch = pytest.importorskip("torch")

from fastscale import zoo  # noqa: E402
from fastscale.memory import saved_activation_bytes  # noqa: E402
from fastscale.memory.groundtruth import build_for_counting, saved_storage_bytes  # noqa: E402
from fastscale.memory.walk import trace  # noqa: E402
from fastscale.planning.planner import make_plan  # noqa: E402
from fastscale.strategies import NAMED  # noqa: E402

TOLERANCE = 0.02
DTYPES = ("float32", "bfloat16")
ZOO_RESOLUTION = 64
SCALED_BASES = ("EfficientNet-B0", "RegNetY-400MF")


def _check(arch, resolution: int, channels_last: bool = False) -> None:
    model = build_for_counting(arch, channels_last)
    for dtype in DTYPES:
        counted = saved_storage_bytes(model, resolution, 1, dtype, channels_last)
        analytic = saved_activation_bytes(trace(arch, resolution), 1, dtype)
        assert abs(analytic / counted - 1) <= TOLERANCE, (dtype, analytic, counted)


@pytest.mark.parametrize("name", zoo.paper_names())  # ConvNeXt, ViT: test_saved_tensors_tokens.py
def test_zoo_model_saved_bytes_match_autograd(name):
    _check(zoo.get(name).spec, ZOO_RESOLUTION)


@pytest.mark.parametrize("strategy", NAMED)
@pytest.mark.parametrize("base", SCALED_BASES)
def test_scaled_model_saved_bytes_match_autograd(base, strategy):
    plan = make_plan(model=base, strategy=strategy, factor=4)
    _check(plan.arch, max(ZOO_RESOLUTION, plan.resolution // 4))


def test_resnet_stem_maxpool_and_channels_last_match_autograd():
    # The ResNet stem's max-pool saves int64 indices; channels_last changes layout, not bytes.
    plan = make_plan(model="ResNeXt-50", strategy="dWr", factor=2)
    _check(plan.arch, 96, channels_last=True)


def test_batch_scales_what_is_saved_per_sample_only():
    # Batch-norm statistics, running buffers and autocast weight copies do not grow with the batch.
    arch = zoo.get("RegNetY-200MF").spec
    model = build_for_counting(arch)
    for dtype in DTYPES:
        counted = saved_storage_bytes(model, ZOO_RESOLUTION, 3, dtype)
        assert saved_activation_bytes(trace(arch, ZOO_RESOLUTION), 3, dtype) == pytest.approx(counted, rel=TOLERANCE)
