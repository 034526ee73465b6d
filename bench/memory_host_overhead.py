"""Host memory per module: measured RSS slopes vs the memory model's per-object constants.

Issue 13.3: a spec of 262,152 width-1 blocks was predicted at 26 MB and grew a worker to 3.5 GB,
because nothing counted the Python/TensorImpl objects of modules, parameters, their copies and
autograd nodes. This script builds width-1 AnyNets of N and 3N blocks in fresh processes, runs the
profiler's training step (state-dict copy, SGD momentum, forward, backward, step), and prints the
RSS growth per block against ``fastscale.memory.overhead.host_bytes`` (the activations, which the
model gets exactly, are subtracted from the training figure).

Run: ``python bench/memory_host_overhead.py [--blocks 2000]`` (about three minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

from rich.console import Console
from rich.table import Table

BLOCKS = ("vanilla_block", "res_basic_block", "res_bottleneck_block")
RESOLUTION, BATCH = 32, 8

CHILD = """
import copy, gc, json, sys
import torch, torch.nn.functional as F
from fastscale.build.builder import build_model
from fastscale.families import AnyNetSpec

def rss():
    return next(int(l.split()[1]) * 1024 for l in open("/proc/self/status") if l.startswith("VmRSS"))

torch.set_num_threads(1)
n, block = int(sys.argv[1]), sys.argv[2]
spec = AnyNetSpec("simple_stem_in", 1, block, (n,), (1,), (1,), (1.0,), (1,), num_classes=10)
x, y = torch.randn({batch}, 3, {res}, {res}), torch.randint(0, 10, ({batch},))
F.conv2d(torch.randn(1, 1, 4, 4), torch.randn(1, 1, 3, 3))  # torch's lazy initialisation, outside
gc.collect(); r0 = rss()
model = build_model(spec).train(); gc.collect(); r1 = rss()
state = copy.deepcopy(model.state_dict())
opt = torch.optim.SGD(model.parameters(), lr=1e-6, momentum=0.9)
F.cross_entropy(model(x), y).backward(); opt.step(); opt.zero_grad(set_to_none=True)
loss = F.cross_entropy(model(x), y); r2 = rss()
print(json.dumps({{"build": r1 - r0, "train": r2 - r0}}))
""".format(batch=BATCH, res=RESOLUTION)


def measure(n: int, block: str) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, str(n), block], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def modelled(n: int, block: str) -> dict:
    from fastscale.families import AnyNetSpec
    from fastscale.memory.api import saved_activation_bytes
    from fastscale.memory.overhead import host_bytes
    from fastscale.memory.walk import trace

    tr = trace(AnyNetSpec("simple_stem_in", 1, block, (n,), (1,), (1,), (1.0,), (1,), num_classes=10), RESOLUTION)
    return {"build": host_bytes(tr, "inference"), "train": host_bytes(tr, "training"),
            "saved": saved_activation_bytes(tr, BATCH, "float32")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=2000)
    n = parser.parse_args().blocks
    table = Table(title=f"host bytes per width-1 block (slope from {n} to {3 * n} blocks)")
    for col in ("block", "build measured", "build model", "train measured", "train model", "ratio"):
        table.add_column(col, justify="right")
    for block in BLOCKS:
        lo, hi = measure(n, block), measure(3 * n, block)
        mlo, mhi = modelled(n, block), modelled(3 * n, block)
        per = 2 * n
        build, model_build = (hi["build"] - lo["build"]) / per, (mhi["build"] - mlo["build"]) / per
        train = (hi["train"] - lo["train"] - (mhi["saved"] - mlo["saved"])) / per
        model_train = (mhi["train"] - mlo["train"]) / per
        table.add_row(block, f"{build:,.0f}", f"{model_build:,.0f}", f"{train:,.0f}", f"{model_train:,.0f}",
                      f"{model_train / train:.2f}")
    Console().print(table)


if __name__ == "__main__":
    main()
