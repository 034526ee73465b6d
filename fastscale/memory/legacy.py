"""Analytic memory prediction from a plan's complexity (no torch: the API uses it before queueing).

inference: weights + activations x batch x bytes per element (an upper bound: eager inference
frees most activations as it goes).
training: weights + gradients + optimizer state (SGD momentum: one buffer) + activations x batch
x bytes per element (all activations are kept for the backward pass).
Under autocast the weights, gradients and optimizer state stay float32; activations take the
autocast dtype's size.
"""

from __future__ import annotations

DTYPE_BYTES = {"float32": 4, "bfloat16": 2, "float16": 2}
PARAM_BYTES = 4
OPTIMIZER_BUFFERS = 1  # SGD with momentum, as the profiler's training step uses


def predict_memory_bytes(complexity: dict, batch_size: int, dtype: str, mode: str) -> int:
    acts = complexity["acts"] * batch_size * DTYPE_BYTES[dtype]
    weights = complexity["params"] * PARAM_BYTES
    if mode == "inference":
        return weights + acts
    return weights * (2 + OPTIMIZER_BUFFERS) + acts
