"""The memory model against this CPU: torch.profiler's allocator peak and the process's RSS.

For each model (fresh process each): eval forward and the profiler's training step (cross-entropy,
backward, SGD momentum) at the given batch and dtype. Two measurements:
- allocator peak: the running sum of torch.profiler's allocation events over one warm step, i.e.
  what the step allocates beyond what existed before it, against the model's ``activation_bytes``
  (the step's own tensors: activations, gradients, transients);
- RSS: VmHWM growth from before building the model, against ``predicted_bytes`` (device cpu),
  which adds weights, optimizer state, copies and host objects; RSS also holds glibc's and
  oneDNN's caches, which the model does not try to predict.

Run: ``python bench/memory_cpu_check.py [--models ResNet-50 EfficientNet-B0] [--batch 16] [--dtype float32]``
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

from rich.console import Console
from rich.table import Table

CHILD = r"""
import copy, json, sys
import torch, torch.nn.functional as F
from torch.profiler import ProfilerActivity, profile
from fastscale import zoo
from fastscale.build.builder import build_model

def status(key):
    return next(int(l.split()[1]) * 1024 for l in open("/proc/self/status") if l.startswith(key))

def allocator_peak(step):
    step()
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        step()
    events = sorted((e.start_ns(), e.nbytes()) for e in prof.profiler.kineto_results.events() if e.name() == "[memory]")
    now = peak = 0
    for _, n in events:
        now += n
        peak = max(peak, now)
    return peak

name, batch, dtype = sys.argv[1], int(sys.argv[2]), sys.argv[3]
entry = zoo.get(name)
F.conv2d(torch.randn(1, 3, 8, 8), torch.randn(4, 3, 3, 3))  # torch's lazy initialisation, outside
base = status("VmRSS")
model = build_model(entry.spec)
res = entry.resolution
x, y = torch.randn(batch, 3, res, res), torch.randint(0, 1000, (batch,))
autocast = lambda: torch.autocast("cpu", dtype=torch.bfloat16, enabled=dtype != "float32")
model.eval()
def infer():
    with torch.no_grad(), autocast():
        model(x)
out = {"inference_alloc": allocator_peak(infer), "inference_rss": status("VmHWM") - base}
state = copy.deepcopy(model.state_dict())
model.train()
opt = torch.optim.SGD(model.parameters(), lr=1e-6, momentum=0.9)
def step():
    opt.zero_grad(set_to_none=True)
    with autocast():
        loss = F.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
out.update(training_alloc=allocator_peak(step), training_rss=status("VmHWM") - base)
print(json.dumps(out))
"""


def main() -> None:
    from fastscale import zoo
    from fastscale.memory import predict_memory

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["ResNet-50", "EfficientNet-B0", "RegNetY-400MF"])
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--dtype", default="float32")
    args = parser.parse_args()
    table = Table(title=f"CPU memory, batch {args.batch}, {args.dtype} (MB; ratio = predicted / measured)")
    for col in ("model", "mode", "alloc peak", "activation_bytes", "ratio", "RSS growth", "predicted_bytes", "ratio "):
        table.add_column(col, justify="right")
    for name in args.models:
        run = subprocess.run([sys.executable, "-c", CHILD, name, str(args.batch), args.dtype],
                             capture_output=True, text=True, check=True)
        measured = json.loads(run.stdout.strip().splitlines()[-1])
        entry = zoo.get(name)
        memory = predict_memory(entry.spec, entry.resolution, args.batch, args.dtype, device="cpu")
        for mode in ("inference", "training"):
            alloc, rss = measured[f"{mode}_alloc"], measured[f"{mode}_rss"]
            act, pred = memory[mode]["activation_bytes"], memory[mode]["predicted_bytes"]
            table.add_row(name, mode, f"{alloc / 1e6:.0f}", f"{act / 1e6:.0f}", f"{act / alloc:.3f}",
                          f"{rss / 1e6:.0f}", f"{pred / 1e6:.0f}", f"{pred / rss:.2f}")
    Console().print(table)


if __name__ == "__main__":
    main()
