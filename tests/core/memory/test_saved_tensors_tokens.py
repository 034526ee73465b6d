"""ConvNeXt and ViT: the analytic saved-activation bytes against what autograd saves (CPU).

The same ground truth as test_saved_tensors.py (unique non-parameter storages that
``saved_tensors_hooks`` sees in one training forward of the built model), held within 2 % for
every ConvNeXt and ViT zoo entry and for scaled plans of every strategy, in float32 and under
bfloat16 autocast, at batch 1 (ViT also 2: what attention saves must not depend on the batch). On CPU
the attention runs its explicit (``math``) path, the one traced by default.

Affordable on 2 CI cores: ConvNeXt at 32 px (maps of 8, 4, 2 and 1), ViT at 48 px (a 3x3 grid,
10 tokens), scaled plans x2 from such bases; nothing in the model depends on the size beyond it.
"""

import pytest

torch = pytest.importorskip("torch")

from fastscale import zoo  # noqa: E402
from fastscale.families.convnext import LIBRARY_NAMES as CONVNEXT_NAMES  # noqa: E402
from fastscale.families.vit import LIBRARY_NAMES as VIT_NAMES  # noqa: E402
from fastscale.memory import saved_activation_bytes  # noqa: E402
from fastscale.memory.groundtruth import build_for_counting, saved_storage_bytes  # noqa: E402
from fastscale.memory.walk import trace  # noqa: E402
from fastscale.planning.planner import make_plan  # noqa: E402
from fastscale.strategies import NAMED  # noqa: E402

TOLERANCE = 0.02
DTYPES = ("float32", "bfloat16")
RESOLUTION = {"convnext": 32, "vit": 48}


def _check(arch, resolution: int, batches=(1,)) -> None:
    model = build_for_counting(arch)
    for dtype in DTYPES:
        for batch in batches:
            counted = saved_storage_bytes(model, resolution, batch, dtype)
            analytic = saved_activation_bytes(trace(arch, resolution), batch, dtype)
            assert abs(analytic / counted - 1) <= TOLERANCE, (dtype, batch, analytic, counted)


@pytest.mark.parametrize("name", [*CONVNEXT_NAMES, *VIT_NAMES])
def test_zoo_model_saved_bytes_match_autograd(name):
    spec = zoo.get(name).spec
    res = RESOLUTION[spec.family]
    _check(spec.at_resolution(res), res)


@pytest.mark.parametrize("strategy", NAMED)
@pytest.mark.parametrize("base", ["ConvNeXt-T", "ViT-Ti/16"])
def test_scaled_model_saved_bytes_match_autograd(base, strategy):
    plan = make_plan(model=base, strategy=strategy, factor=2, resolution=RESOLUTION[zoo.get(base).family])
    _check(plan.arch, plan.resolution, batches=(1, 2) if plan.arch.family == "vit" else (1,))


def test_one_head_and_odd_token_counts_match_autograd():
    # One head: (B, H, N, D) -> (B, N, D) is a view, not a copy; 80 px: a 5x5 grid, 26 tokens.
    spec = {"family": "vit", "depth": 2, "dim": 64, "img_size": 80}
    plan = make_plan(spec=spec, strategy="d", factor=1.0)
    _check(plan.arch, 80, batches=(1, 3))


@pytest.mark.parametrize("kernel", ["flash", "efficient"])
def test_fused_attention_kernels_keep_no_attention_map(kernel):
    """CUDA's fused kernels (not runnable here; a GPU run calibrates them) save, per block, the
    qkv storage, the output and a float32 log-sum-exp per head and query (padded to 32 queries
    by the memory-efficient kernel) instead of the scaled query, key, value copies and the
    heads * n * n softmax output of the math path; everything else is the same."""
    spec = zoo.get("ViT-S/16").spec
    n, d, h, depth = 197, spec.dim, spec.heads, spec.depth
    lse = h * (n if kernel == "flash" else -(-n // 32) * 32)
    for dtype, ab in (("float32", 4), ("bfloat16", 2)):
        math_bytes = saved_activation_bytes(trace(spec, 224, "math"), 2, dtype)
        fused_bytes = saved_activation_bytes(trace(spec, 224, kernel), 2, dtype)
        per_block = ab * (h * n * n - n * d) - 4 * lse
        assert math_bytes - fused_bytes == 2 * depth * per_block
