"""Ground truth for the analytic saved-activation count: what autograd really saves (imports torch).

One training forward of the built model (forward and cross-entropy loss, as the profiler runs it)
under ``torch.autograd.graph.saved_tensors_hooks``: every tensor autograd saves for backward
passes the pack hook, and the unique storages among them, parameters excluded, are what the
backward pass keeps alive. Buffers (batch norm's running statistics), the network input, the
targets and autocast's weight copies are not parameters, so they count, as they do analytically.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from fastscale.build.builder import build_model

AUTOCAST = {"bfloat16": torch.bfloat16, "float16": torch.float16}


def build_for_counting(arch, channels_last: bool = False) -> torch.nn.Module:
    """The model in train mode on CPU, cheaply: built on the meta device, then given storage.

    What autograd saves does not depend on the values, and skipping weight initialisation is
    what makes checking all 36 zoo models affordable. Weights and buffers are zeroed: every
    activation is then exactly zero, so neither uninitialised memory (NaN) nor denormal floats,
    which slow CPU arithmetic a hundredfold, reach the ops.
    """
    model = build_model(arch, "meta").to_empty(device="cpu").train()
    with torch.no_grad():
        for tensor in (*model.parameters(), *model.buffers()):
            tensor.zero_()
    return model.to(memory_format=torch.channels_last) if channels_last else model


def saved_storage_bytes(model: torch.nn.Module, resolution: int, batch_size: int = 1, dtype: str = "float32",
                        channels_last: bool = False) -> int:
    """Bytes of the unique non-parameter storages autograd saves in one training forward (CPU)."""
    params = {p.untyped_storage().data_ptr() for p in model.parameters()}
    seen: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        if storage.data_ptr() not in params:
            seen[storage.data_ptr()] = storage.nbytes()
        return t

    x = torch.zeros(batch_size, 3, resolution, resolution)
    if channels_last:
        x = x.to(memory_format=torch.channels_last)
    y = torch.zeros(batch_size, dtype=torch.long)
    autocast = torch.autocast("cpu", dtype=AUTOCAST.get(dtype, torch.bfloat16), enabled=dtype in AUTOCAST)
    with autocast, torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = F.cross_entropy(model(x), y)
    del loss  # the graph (and with it every saved tensor) goes; `seen` only kept sizes
    return sum(seen.values())
