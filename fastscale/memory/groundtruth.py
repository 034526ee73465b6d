"""Ground truth for the analytic saved-activation count: what autograd really saves (imports torch).

One training step of the built model (forward and cross-entropy loss, as the profiler runs it)
under ``torch.autograd.graph.saved_tensors_hooks``: every tensor autograd saves for backward
passes the pack hook, and the unique storages among them, parameters excluded, are what the
backward pass keeps alive. Buffers (batch norm's running statistics), the network input, the
targets and autocast's weight copies are not parameters, so they count, as they do analytically.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from fastscale.builder import build_model

AUTOCAST = {"bfloat16": torch.bfloat16, "float16": torch.float16}


def saved_storage_bytes(arch, resolution: int, batch_size: int = 1, dtype: str = "float32",
                        channels_last: bool = False, seed: int = 0) -> int:
    """Bytes of the unique non-parameter storages autograd saves in one training forward (CPU)."""
    torch.manual_seed(seed)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = build_model(arch).train().to(memory_format=fmt)
    params = {p.untyped_storage().data_ptr() for p in model.parameters()}
    seen: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        if storage.data_ptr() not in params:
            seen[storage.data_ptr()] = storage.nbytes()
        return t

    x = torch.randn(batch_size, 3, resolution, resolution).to(memory_format=fmt)
    classes = next(m.out_features for m in reversed(list(model.modules())) if isinstance(m, torch.nn.Linear))
    y = torch.randint(0, classes, (batch_size,))
    autocast = torch.autocast("cpu", dtype=AUTOCAST[dtype]) if dtype in AUTOCAST else torch.autocast("cpu", enabled=False)
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t), autocast:
        loss = F.cross_entropy(model(x), y)
    del loss  # the graph (and with it every saved tensor) goes; `seen` only kept sizes
    return sum(seen.values())
