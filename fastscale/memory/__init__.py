"""Analytic memory model (torch-free; the API uses it before queueing)."""

from fastscale.memory.legacy import DTYPE_BYTES, predict_memory_bytes

__all__ = ["DTYPE_BYTES", "predict_memory_bytes"]
