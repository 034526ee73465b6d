"""Element sizes under the profiler's dtypes, and what autocast leaves in float32.

``float32`` runs everything in float32. ``bfloat16`` / ``float16`` run the model under
``torch.autocast`` (the profiler's way, CPU and CUDA alike): convolutions and linear layers take
low-precision copies of their inputs and weights and write low-precision outputs, and every other
op of these models (batch norm, activations, pooling, sigmoid, add, mul) runs in its input's
dtype, so all activations after the stem conv are low precision. What stays float32: parameters,
their gradients and the optimizer state, batch-norm statistics and running buffers, the network
input batch the caller allocates, and the loss (log-softmax runs in float32 under autocast).
"""

from __future__ import annotations

from fastscale.errors import ScalingError

DTYPE_BYTES = {"float32": 4, "bfloat16": 2, "float16": 2}
F32, I64 = 4, 8


def check_dtype(dtype: str) -> None:
    if dtype not in DTYPE_BYTES:
        raise ScalingError("dtype", f"unknown dtype {dtype!r}", ", ".join(DTYPE_BYTES))


def act_bytes(dtype: str) -> int:
    """Bytes per activation element (the compute dtype)."""
    check_dtype(dtype)
    return DTYPE_BYTES[dtype]


def autocast(dtype: str) -> bool:
    return act_bytes(dtype) != F32
