"""Peak activation memory of one training step and of one eval forward, from a trace (bytes).

Training (forward, cross-entropy, backward) is simulated op by op. In the forward pass the saved
set S grows by what each op is first to save; the op's output is allocated beside it. In the
backward pass ops run in reverse and each frees what it was first to save once it is done, so
while op i's backward runs, S_i (everything saved up to and including op i) is alive, plus the
float32 weight gradients of ops i..end, plus the activation gradients op i reads and writes and
those waiting at residual joins. A stage's repeated block is a linear function of the copy index
in both passes, so its first and last copies bound it and the walk stays O(stages).

Eval inference holds, at each op, the inputs of every enclosing module (their callers keep them)
plus the op's own inputs and outputs; the peak is the worst op, not the sum of all activations.

``workspace(op)``: bytes a conv needs beside its tensors while it runs (CPU reorder buffers, cuDNN
workspace); see ``fastscale.memory.overhead``.
"""

from __future__ import annotations

from typing import Callable

from fastscale.memory.constants import IN_PLACE
from fastscale.memory.dtypes import F32, I64, act_bytes, autocast
from fastscale.memory.walk import Trace

Workspace = Callable[[object], int]


def saved_bytes(op, batch: int, dtype: str) -> int:
    """Bytes of the storages ``op`` is first to save, as the saved-tensor hooks count them."""
    ab = act_bytes(dtype)
    per_sample = op.saved * ab + op.saved_f32 * F32 + op.saved_i64 * I64 + op.saved_input * ab
    fixed = (op.saved_stats + op.saved_buffers) * F32 + (op.saved_casts * ab if autocast(dtype) else 0)
    return batch * per_sample + fixed


def _new_bytes(op, batch: int, ab: int, low: bool) -> int:
    """Memory newly allocated by what ``op`` saves (buffers, inputs and targets exist already)."""
    new = batch * (op.saved * ab + op.saved_f32 * F32 + op.saved_i64 * I64) + op.saved_stats * F32
    if low:  # the network input is saved as a low-precision copy; weights likewise
        new += batch * op.saved_input * ab + op.saved_casts * ab
    if op.kind == "loss":
        new -= batch * I64  # nll_loss saves the caller's targets
    return new


def _step_peaks(op, batch: int, ab: int, low: bool, ws: int) -> tuple[int, int]:
    """(forward, backward) transient bytes of ``op`` beyond the saved set and weight gradients."""
    out = 0 if op.kind in IN_PLACE else op.writes
    low_grad = op.weights * ab if low else 0  # low-precision weight grad before its cast
    return batch * ab * out + ws, batch * ab * op.grads + low_grad + ws


def training_candidates(trace: Trace, batch: int, dtype: str, workspace: Workspace) -> list[int]:
    """Live bytes (saved set + transients + weight gradients) at each step of forward and backward.

    The list has the same length and order for every batch size, and each entry is affine in the
    batch whenever ``workspace`` is, which lets ``largest_batch`` solve for the batch directly.
    """
    ops = trace.ops
    ab, low = act_bytes(dtype), autocast(dtype)  # once, not per op: this runs on every POST /plan
    new = [_new_bytes(op, batch, ab, low) for op in ops]
    grad = [F32 * op.weights for op in ops]
    steps = [_step_peaks(op, batch, ab, low, workspace(op)) for op in ops]
    grad_total = sum(g * n for g, n in zip(grad, trace.counts))
    groups = {start: (stop, times) for start, stop, times in trace.groups}
    saved = grads_before = 0
    out, i = [], 0
    while i < len(ops):
        stop, times = groups.get(i, (i + 1, 1))
        block_new, block_grad = sum(new[i:stop]), sum(grad[i:stop])
        for copy in sorted({0, times - 1}):  # first and last copy bound a linear function of the copy
            s, g = saved + copy * block_new, grads_before + copy * block_grad
            for j in range(i, stop):
                s += new[j]
                forward, backward = steps[j]
                out += (s + forward, s + (grad_total - g) + backward)
                g += grad[j]
        saved, grads_before = saved + times * block_new, grads_before + times * block_grad
        i = stop
    return out


def candidate_ops(trace: Trace, mode: str) -> list[int]:
    """The op each entry of ``training_candidates`` / ``inference_candidates`` belongs to, so a
    per-op term (the benchmark workspace) can be added to a computed list without a second walk."""
    if mode == "inference":
        return list(range(len(trace.ops)))
    groups = {start: (stop, times) for start, stop, times in trace.groups}
    out, i = [], 0
    while i < len(trace.ops):
        stop, times = groups.get(i, (i + 1, 1))
        for _copy in sorted({0, times - 1}):
            for j in range(i, stop):
                out += (j, j)
        i = stop
    return out


def inference_candidates(trace: Trace, batch: int, dtype: str, workspace: Workspace) -> list[int]:
    """Live bytes of eval forward at each op: held inputs, the op's inputs and outputs, cast copies."""
    ab, low = act_bytes(dtype), autocast(dtype)
    out = []
    for op in trace.ops:
        live = batch * (op.live * ab + op.live_i64 * I64) + workspace(op)
        if low:
            live += batch * op.saved_input * ab  # the stem conv's low-precision copy of the input
        out.append(live)
    return out


def training_activation_peak(trace: Trace, batch: int, dtype: str, workspace: Workspace) -> int:
    return max(training_candidates(trace, batch, dtype, workspace))


def inference_activation_peak(trace: Trace, batch: int, dtype: str, workspace: Workspace) -> int:
    return max(inference_candidates(trace, batch, dtype, workspace))
