"""Analytic memory model (torch-free; the API uses it before queueing).

``predict_memory`` and ``largest_batch`` are the service's entry points (see ``api``); the model
is built from each layer's ``trace`` (``fastscale.trace``), its peaks from ``peaks``, and what it
adds beyond activations from ``overhead``. ``predict_memory_bytes`` is the old complexity-only
estimate, kept until its callers (app/submit.py, workers/job.py) switch over.
"""

from fastscale.memory.api import (
    largest_batch,
    largest_batch_bracket,
    predict_memory,
    required_bytes,
    saved_activation_bytes,
)
from fastscale.memory.legacy import DTYPE_BYTES, predict_memory_bytes

__all__ = ["DTYPE_BYTES", "largest_batch", "largest_batch_bracket", "predict_memory", "predict_memory_bytes",
           "required_bytes", "saved_activation_bytes"]
