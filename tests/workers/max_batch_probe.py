"""Run as a process of its own (it caps its own memory): the largest training batch of a tiny real
model under RLIMIT_DATA on CPU, found by the full search (doubling from 1, then bisection) and by
find_max_batch from the memory model's prediction, as a worker's job runs it. Prints JSON: each
search's answer and the batch sizes it tried in order, and the prediction.

Every trial step runs in a child forked from the same warmed-up, capped process, so whether a
batch fits does not depend on the trials before it: in one process a failed step leaves the heap
grown (glibc keeps it, and RLIMIT_DATA counts it) and oneDNN's primitive cache keeps memory per
shape tried, so two searches that try different batches would not be comparing the same thing.

    python -m tests.workers.max_batch_probe CAP_BYTES RESOLUTION
"""

from __future__ import annotations

import json
import os
import resource
import sys

import torch

from fastscale.build.builder import build_plan
from fastscale.planning.planner import make_plan
from workers.job import _batch_predictor
from workers.limits import data_bytes, return_freed_memory_to_the_system
from workers.profiler import ProfileConfig, find_max_batch, largest_batch
from workers.profiler.memory import step_budget
from workers.profiler.modes import fits

TINY = {"family": "anynet", "stem_type": "simple_stem_in", "stem_w": 8, "block_type": "res_bottleneck_block",
        "depths": [1, 1], "widths": [16, 32], "strides": [2, 2], "bot_muls": [1.0, 1.0], "group_ws": [8, 8],
        "se_r": 0.25, "num_classes": 10}
LIMIT, MODE = 4096, "training"


def fixed_mmap_threshold() -> None:
    """Large blocks mapped and unmapped one by one (glibc's M_MMAP_THRESHOLD set, so not moved by
    frees): what a step holds is what RLIMIT_DATA counts, with no heap left over from the last."""
    assert return_freed_memory_to_the_system(64 * 1024)


def main(cap: int, resolution: int) -> dict:
    fixed_mmap_threshold()
    torch.set_num_threads(1)  # before any parallel work: no thread pool to lose across fork
    torch.manual_seed(0)
    plan = make_plan(spec=TINY, factor=1.0, resolution=resolution, rounding="pycls")
    model = build_plan(plan)
    cfg = ProfileConfig(batch_size=2, modes=(MODE,), num_classes=10)
    device = torch.device("cpu")
    assert fits(model, plan.resolution, device, cfg, MODE, 2)  # warm: allocator, oneDNN, autograd
    resource.setrlimit(resource.RLIMIT_DATA, (data_bytes() + cap, resource.getrlimit(resource.RLIMIT_DATA)[1]))
    tried: dict[str, list[int]] = {"full": [], "predicted": []}
    known = {"fits": 0, "fails": LIMIT + 1}  # the largest batch seen to fit, the smallest seen to fail

    def in_child(b: int) -> bool:
        child = os.fork()
        if child == 0:
            os._exit(0 if fits(model, plan.resolution, device, cfg, MODE, b) else 1)
        return os.waitstatus_to_exitcode(os.waitpid(child, 0)[1]) == 0

    def trial(search: str):
        """A search's oracle. Both searches share what was seen, read as the monotone world both
        assume: at the boundary a real step is not quite monotone (measured: a batch fitting where
        two smaller ones did not, 897 and 899 around a 0.2 % wide edge), so two searches probing
        different batches could each stop at a different, equally true edge."""
        def fits_in_child(b: int) -> bool:
            tried[search].append(b)
            if b <= known["fits"] or b >= known["fails"]:
                return b <= known["fits"]
            ok = in_child(b)
            known["fits" if ok else "fails"] = b
            return ok
        return fits_in_child

    budget = step_budget(device, model)
    predicted, bracket = _batch_predictor(plan, cfg, "cpu")(MODE, budget)
    full = largest_batch(trial("full"), 1, LIMIT)
    found = find_max_batch(trial("predicted"), predicted, bracket, LIMIT)
    return {"full": full, "found": found, "tried": tried, "predicted": predicted, "bracket": list(bracket),
            "budget": budget}


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]), int(sys.argv[2]))))
