"""Runtime features of an architecture, per layer and in total, from the layer trace (no torch).

For a runtime predictor (issue 11): time on a GPU is roughly launch overhead per kernel, plus
arithmetic at some rate, plus memory traffic at some bandwidth, and each op leans on one of them.
So per op (one torch operation of the trace; ``count`` times per forward pass) and per pass:

- ``flops``: multiply-adds (the reference's convention, as in ``complexity``). Forward: the op's
  own. Backward: a conv or linear layer computes the gradient of its input (not for the network
  input) and of its weight, each as many multiply-adds as the forward; other ops count none.
- ``bytes_read`` / ``bytes_written``: DRAM traffic if every tensor is read and written once per
  kernel: activations at the compute dtype, weights at the dtype the kernel reads them (the
  low-precision copy under autocast for convs and linear layers, float32 otherwise), int64
  max-pool indices. Backward reads the output gradient and what was saved (input, weights) and
  writes the input gradient and the weight gradient (float32 parameters' grads).
- ``kernels``: kernel launches (eager PyTorch): one per op, plus a bias add, autocast casts,
  SiLU's clone in training, two gradient kernels per conv or linear layer (data and weight).

Training adds what is outside the layers: the autocast weight casts (read float32, write low
precision) and the SGD-momentum step (reads parameter, gradient and momentum, writes parameter
and momentum; ``multi_tensor_apply`` launches one kernel per ~64 tensors per foreach op).
Approximations stated, not hidden: caches, fusion inside cuDNN and tensor-core efficiency are for
the predictor's fitted coefficients to absorb.
"""

from __future__ import annotations

from math import ceil

from fastscale.memory.dtypes import F32, I64, act_bytes, autocast
from fastscale.memory.walk import trace

COUNTS = ("flops", "bytes_read", "bytes_written", "kernels")
LAYERS_WITH_WEIGHT_GRADS = ("conv", "linear", "mm")  # mm: a linear on tokens (ConvNeXt, ViT)
FOREACH_TENSORS = 64  # tensors per multi_tensor_apply launch with two tensor lists
SGD_FOREACH_OPS = 3  # momentum scale, momentum += grad, param -= lr * momentum


def _forward(op, batch: int, dtype: str) -> dict:
    ab, low = act_bytes(dtype), autocast(dtype)
    weight_bytes = ab if low and op.kind in LAYERS_WITH_WEIGHT_GRADS else F32
    return {
        "flops": batch * op.flops,
        "bytes_read": batch * ab * op.reads + weight_bytes * op.weights,
        "bytes_written": batch * (ab * op.writes + I64 * op.live_i64),
        "kernels": op.kernels_fwd + (op.casts if low else 0),
    }


def _backward(op, batch: int, dtype: str) -> dict:
    ab = act_bytes(dtype)
    weighted = op.kind in LAYERS_WITH_WEIGHT_GRADS
    data_grad = weighted and op.saved_input == 0  # no gradient for the network input
    grad_passes = (1 + data_grad) if weighted else 1
    return {
        "flops": batch * op.flops * ((1 + data_grad) if weighted else 0),
        "bytes_read": batch * ab * (grad_passes * op.writes + op.reads) + F32 * op.weights,
        "bytes_written": batch * ab * (op.reads if (data_grad or not weighted) else 0) + F32 * op.weights,
        "kernels": op.kernels_bwd,
    }


def layer_features(arch, resolution: int, batch_size: int, dtype: str = "float32") -> list[dict]:
    """One entry per traced op, in forward order: kind, count per pass, forward and backward counts."""
    tr = trace(arch, resolution)
    return [{"kind": op.kind, "count": n, "forward": _forward(op, batch_size, dtype),
             "backward": _backward(op, batch_size, dtype)} for op, n in zip(tr.ops, tr.counts)]


def _sum(layers: list[dict], passes: tuple) -> dict:
    return {k: sum(layer["count"] * layer[p][k] for layer in layers for p in passes) for k in COUNTS}


def runtime_features(arch, resolution: int, batch_size: int, dtype: str = "float32", layers: list | None = None) -> dict:
    """Feature totals of eval inference and of one training step (forward, backward, SGD step).
    ``layers``: this arch's ``layer_features`` when the caller has them already (one walk, not two)."""
    tr = trace(arch, resolution)
    layers = layers if layers is not None else layer_features(arch, resolution, batch_size, dtype)
    inference, training = _sum(layers, ("forward",)), _sum(layers, ("forward", "backward"))
    params = tr.total("weights")
    launches = SGD_FOREACH_OPS * ceil(tr.param_tensors / FOREACH_TENSORS)
    training["bytes_read"] += 3 * F32 * params
    training["bytes_written"] += 2 * F32 * params
    training["kernels"] += launches
    if autocast(dtype):
        casts = tr.total("saved_casts")
        training["bytes_read"] += F32 * casts
        training["bytes_written"] += act_bytes(dtype) * casts
    return {"inference": inference, "training": training, "ops_per_pass": sum(tr.counts)}
