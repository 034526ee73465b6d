"""Calibrate the fused attention kernels' saved set on a GPU: what autograd saves in one training
forward of a ViT on CUDA (``saved_tensors_hooks``, unique non-parameter storages, as
``fastscale.memory.groundtruth`` counts on CPU) against the memory model's trace for the kernel
the model reports it ran (``SelfAttention.kernel``: flash, efficient, cudnn), per dtype.

On CPU it checks the math path the same way (what tests/core/memory holds). Prints one table.
Run: ``python bench/families/attention_memory.py [--models ViT-Ti/16 ViT-S/16] [--batch 8]``
"""

from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F

from fastscale import zoo
from fastscale.build.builder import build_model
from fastscale.layers.attention import KERNELS
from fastscale.memory import saved_activation_bytes
from fastscale.memory.walk import trace

AUTOCAST = {"bfloat16": torch.bfloat16, "float16": torch.float16}


def measured(model, resolution: int, batch: int, dtype: str, device: str) -> tuple[int, str]:
    """(saved bytes, attention kernel that ran) of one training forward on ``device``."""
    params = {p.untyped_storage().data_ptr() for p in model.parameters()}
    seen: dict[int, int] = {}

    def pack(t):
        storage = t.untyped_storage()
        if storage.data_ptr() not in params:
            seen[storage.data_ptr()] = storage.nbytes()
        return t

    x = torch.randn(batch, 3, resolution, resolution, device=device)
    y = torch.zeros(batch, dtype=torch.long, device=device)
    cast = torch.autocast(device, dtype=AUTOCAST.get(dtype, torch.bfloat16), enabled=dtype in AUTOCAST)
    with cast, torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = F.cross_entropy(model(x), y)
    del loss
    kernels = sorted({m.kernel for m in model.modules() if hasattr(m, "kernel")})
    return sum(seen.values()), ",".join(kernels)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=["ViT-Ti/16", "ViT-S/16", "ViT-B/16"])
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--dtypes", nargs="+", default=["float32", "bfloat16", "float16"])
    args = ap.parse_args()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    print(f"device {torch.cuda.get_device_name() if device == 'cuda' else 'cpu'}, torch {torch.__version__}")
    print(f"{'model':<10} {'dtype':<9} {'kernel':<10} {'autograd bytes':>15} {'model bytes':>15} {'ratio':>7}")
    for name in args.models:
        entry = zoo.get(name)
        model = build_model(entry.spec, device).train()
        for dtype in args.dtypes:
            if device == "cpu" and dtype == "float16":
                continue
            got, kernel = measured(model, entry.resolution, args.batch, dtype, device)
            modelled = kernel if kernel in KERNELS else "math"
            want = saved_activation_bytes(trace(entry.spec, entry.resolution, modelled), args.batch, dtype)
            print(f"{name:<10} {dtype:<9} {kernel:<10} {got:>15,} {want:>15,} {want / got:>7.4f}")
        del model
        if device == "cuda":
            torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
