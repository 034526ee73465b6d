"""Analytic memory model (torch-free; the API uses it before queueing).

``predict_memory`` / ``plan_memory`` (the ``memory`` object of POST /plan and ``fastscale plan``),
``required_bytes`` (the 422 guard) and ``largest_batch`` / ``largest_batch_bracket`` (the guard's
hint, the worker's find_max_batch) are the service's entry points (see ``api``); the model is
built from each layer's ``trace`` (``fastscale.layers.trace``), its peaks from ``peaks``, and what it adds
beyond activations from ``overhead``.
"""

from fastscale.memory.api import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_DTYPE,
    largest_batch,
    largest_batch_bracket,
    plan_memory,
    predict_memory,
    required_bytes,
    saved_activation_bytes,
)
from fastscale.memory.dtypes import DTYPE_BYTES

__all__ = ["DEFAULT_BATCH_SIZE", "DEFAULT_DTYPE", "DTYPE_BYTES", "largest_batch", "largest_batch_bracket",
           "plan_memory", "predict_memory", "required_bytes", "saved_activation_bytes"]
