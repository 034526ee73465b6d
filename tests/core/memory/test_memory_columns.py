"""The memory model in bulk (fastscale.memory.columns) gives the per-op reference's figures exactly.

``peaks`` and ``overhead`` walk the ops one by one and say what is counted; ``columns`` is what
POST /plan runs. On zoo models and random specs of every family (repeated blocks, stride 1, SE,
heads, every stem), at several batches, dtypes, layouts and both devices, every candidate list,
workspace, saved-set total and op total must be equal, in the same order.
"""

import random

import pytest

from fastscale import zoo
from fastscale.errors import ScalingError
from fastscale.memory import api, overhead, peaks
from fastscale.memory.walk import SUMMED, trace
from fastscale.planning.planner import resolve_base
from tests.core.planning import golden_grid

CASES = [(64, "float32", False), (1, "bfloat16", True), (7, "float16", False), (3, "bfloat16", False)]


def _traces(seed: int, count: int):
    rng = random.Random(seed)
    out = [trace(zoo.get(name).spec, zoo.get(name).resolution) for name in ("RegNetY-400MF", "EfficientNet-B0",
                                                                             "ResNet-50")]
    while len(out) < count:
        try:
            base = resolve_base(spec=golden_grid.random_spec(rng))
        except ScalingError:
            continue
        out.append(trace(base.spec, rng.choice([32, 64, 97, base.resolution])))
    return out


@pytest.mark.parametrize("seed", [1, 2])
def test_bulk_candidates_are_the_reference_lists(seed):
    for tr in _traces(seed, 25):
        cols = tr.columns
        for batch, dtype, channels_last in CASES:
            assert cols.safe(batch)
            for device in ("cuda", "cpu"):
                scratch = overhead.scratch_fn(batch, dtype, device)
                bulk_scratch = cols.scratch(batch, dtype, device)
                assert cols.training(batch, dtype, bulk_scratch).tolist() == \
                    peaks.training_candidates(tr, batch, dtype, scratch)
                assert cols.inference(batch, dtype, bulk_scratch).tolist() == \
                    peaks.inference_candidates(tr, batch, dtype, scratch)
                workspace = overhead.workspace_fn(batch, dtype, channels_last, device)
                assert cols.workspace(batch, dtype, channels_last, device).tolist() == [workspace(op) for op in tr.ops]
            for mode in ("inference", "training"):
                assert cols.candidate_ops(mode).tolist() == peaks.candidate_ops(tr, mode)
            assert cols.saved_bytes(batch, dtype) == sum(peaks.saved_bytes(op, batch, dtype) * n
                                                         for op, n in zip(tr.ops, tr.counts))
        for name in SUMMED:
            assert tr.total(name) == sum(getattr(op, name) * n for op, n in zip(tr.ops, tr.counts)), name


def test_figures_past_int64_fall_back_to_the_reference():
    """EfficientNet-B5 at 2048 px and a batch of 2**24 (the API's largest) could pass int64 in
    bulk: the memory model then takes the per-op walk, with Python's exact integers."""
    tr = trace(zoo.get("EfficientNet-B5").spec, 2048)
    assert tr.columns.safe(64) and not tr.columns.safe(1 << 24)
    live = api._live(tr, 1 << 24, "float32", "cuda", "training")
    assert isinstance(live, list)  # the per-op walk answered, not the bulk path
    assert live == peaks.training_candidates(tr, 1 << 24, "float32", overhead.scratch_fn(1 << 24, "float32", "cuda"))
