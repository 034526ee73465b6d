"""Warm-up before the first job: import torch and everything a job uses, and profile a tiny model
once on the worker's device.

A job timeout that landed inside ``import torch`` (a first job pays for the import) left torch
half initialised, and every later job on that worker failed ("partially initialized module
'torch' has no attribute 'fx'", "duplicate registrations for aten.linspace"). After the warm-up
no job imports anything heavy, and CUDA, cuDNN and the allocator are initialised before the
first job's clock starts.
"""

from __future__ import annotations

import logging
import time

log = logging.getLogger("fastscale.worker")

TINY = {"family": "anynet", "stem_type": "simple_stem_in", "stem_w": 8, "block_type": "res_bottleneck_block",
        "depths": [1, 1], "widths": [16, 32], "strides": [2, 2], "bot_muls": [1.0, 1.0], "group_ws": [8, 8],
        "se_r": 0.25, "num_classes": 10}


def warm_up(kind: str) -> float:
    """Build and profile a tiny model in every mode on ``kind``'s device; the seconds it took."""
    started = time.perf_counter()
    log.info("warming up (%s)", kind)
    import torch

    from fastscale.build.builder import build_plan
    from fastscale.memory import largest_batch_bracket, plan_memory  # noqa: F401 - the job imports them
    from fastscale.planning.planner import Plan, make_plan
    from workers.profiler import MODES, ProfileConfig, pick_device, profile_model, release_memory
    from workers.profiler.memory import is_oom  # noqa: F401 - the job imports it

    plan = Plan.from_dict(make_plan(spec=TINY, factor=1.0, resolution=32, rounding="pycls").to_dict())
    device = pick_device(kind)
    torch.manual_seed(0)
    model = build_plan(plan)
    cfg = ProfileConfig(batch_size=2, modes=MODES, time_budget_s=0.05, min_iters=2)
    try:
        profile_model(model, plan.resolution, device, cfg)
    finally:
        del model
        release_memory(device)
    seconds = time.perf_counter() - started
    log.info("worker warmed up on %s in %.1f s", device, seconds)
    return seconds
