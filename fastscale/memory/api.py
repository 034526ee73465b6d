"""The memory model's public API: predicted peak memory per mode, and the largest batch that fits.

``predict_memory`` returns the ``memory`` object the service reports (public JSON names:
``inference.predicted_bytes``, ``training.predicted_bytes``, ``training.saved_activation_bytes``),
with the parts it is made of beside them:

- ``predicted_bytes``: the steady peak the profiler measures, step after step (CUDA:
  ``max_memory_allocated`` over the timed iterations, after warm-up; CPU: the worker's RSS
  growth, host overhead included).
- ``required_bytes``: what must fit for the step to run: the activation peak, persistent
  tensors and allocator rounding. The 422 guard and the largest batch use it. On CUDA
  ``predicted_bytes`` adds the cuBLAS workspaces (``blas_workspace_bytes``), which are taken
  from what is free, like the benchmark workspace.
- ``workspace_bytes``: cuDNN's benchmark workspace at the peak op: what a network's first steps
  in a worker may take on top, once, while cuDNN autotunes new shapes (``overhead``).
- ``activation_bytes``: the activation peak alone (saved set and transients, or eval's live set);
  ``persistent_bytes``: weights, optimizer state, copies and the input batch;
  ``overhead_bytes``: allocator rounding (CUDA) or host objects (CPU);
  ``host_overhead_bytes``: the host-side objects of the worker process in either case.
"""

from __future__ import annotations

from fastscale.errors import ScalingError
from fastscale.layers.attention import KERNELS, default_kernel
from fastscale.memory import overhead
from fastscale.memory.dtypes import check_dtype
from fastscale.memory.peaks import candidate_ops, inference_candidates, saved_bytes, training_candidates
from fastscale.memory.walk import Trace, trace

MODES = ("inference", "training")
DEVICES = ("cuda", "cpu")
DEFAULT_BATCH_SIZE, DEFAULT_DTYPE = 64, "float32"  # a profile's defaults (POST /scale, /plan, the CLI)
MAX_BATCH = 1 << 24
CANDIDATES = {"inference": inference_candidates, "training": training_candidates}


def _spec(arch):
    if isinstance(arch, dict):
        from fastscale.families import spec_from_dict

        return spec_from_dict(arch, "arch")
    return arch


def _trace(arch, resolution: int, device: str, dtype: str, attention: str | None = None) -> Trace:
    """The trace with the saved set of the attention kernel ``device`` runs (or ``attention``)."""
    kernel = attention or default_kernel(device, dtype)
    if kernel not in KERNELS:
        raise ScalingError("attention", f"unknown attention kernel {kernel!r}", ", ".join(KERNELS))
    return trace(_spec(arch), resolution, kernel)


def _check(batch_size, dtype: str, device: str) -> None:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or not 1 <= batch_size <= MAX_BATCH:
        raise ScalingError("profile.batch_size", f"must be an integer from 1 to {MAX_BATCH}, got {batch_size!r}")
    check_dtype(dtype)
    if device not in DEVICES:
        raise ScalingError("profile.device", f"unknown device {device!r}", ", ".join(DEVICES))


def saved_activation_bytes(tr: Trace, batch_size: int, dtype: str) -> int:
    """Bytes of the unique non-parameter storages autograd saves in one training forward."""
    if tr.columns.safe(batch_size):
        return tr.columns.saved_bytes(batch_size, dtype)
    return sum(saved_bytes(op, batch_size, dtype) * n for op, n in zip(tr.ops, tr.counts))


def _fixed_bytes(tr: Trace, resolution: int, batch: int, dtype: str, device: str, mode: str) -> tuple[int, int, int]:
    """(persistent, overhead, host) bytes: what the step holds beside its activations."""
    persistent = overhead.persistent_bytes(tr, resolution, batch, dtype, mode)
    host = overhead.host_bytes(tr, mode)
    extra = overhead.rounding_bytes(tr, dtype, mode, device) if device == "cuda" else host
    return persistent, extra, host


def _live(tr: Trace, batch: int, dtype: str, device: str, mode: str):
    """Live activation bytes at each candidate step (``peaks``), in bulk when int64 holds them."""
    if tr.columns.safe(batch):
        scratch = tr.columns.scratch(batch, dtype, device)
        return (tr.columns.training if mode == "training" else tr.columns.inference)(batch, dtype, scratch)
    return CANDIDATES[mode](tr, batch, dtype, overhead.scratch_fn(batch, dtype, device))


def _peaks(tr: Trace, batch: int, dtype: str, channels_last: bool, device: str, mode: str) -> tuple[int, int]:
    """(activation peak, peak with the benchmark workspace of the op running at it)."""
    live = _live(tr, batch, dtype, device, mode)
    if isinstance(live, list):
        workspace = overhead.workspace_fn(batch, dtype, channels_last, device)
        ws = [workspace(op) for op in tr.ops]
        return max(live), max(v + ws[j] for v, j in zip(live, candidate_ops(tr, mode)))
    ws = tr.columns.workspace(batch, dtype, channels_last, device)
    return int(live.max()), int((live + ws[tr.columns.candidate_ops(mode)]).max())


def _mode_memory(tr: Trace, resolution: int, batch: int, dtype: str, channels_last: bool, device: str,
                 mode: str) -> dict:
    activations, with_ws = _peaks(tr, batch, dtype, channels_last, device, mode)
    persistent, extra, host = _fixed_bytes(tr, resolution, batch, dtype, device, mode)
    required = activations + persistent + extra
    blas = overhead.blas_workspace_bytes(tr, mode, device)
    return {
        "predicted_bytes": required + blas,
        "required_bytes": required,
        "activation_bytes": activations,
        "persistent_bytes": persistent,
        "workspace_bytes": with_ws - activations,
        "blas_workspace_bytes": blas,
        "overhead_bytes": extra,
        "host_overhead_bytes": host,
    }


def predict_memory(arch, resolution: int, batch_size: int, dtype: str = "float32", channels_last: bool = False,
                   device: str = "cuda", attention: str | None = None) -> dict:
    """Predicted peak memory of eval inference and of one training step (bytes).

    ``arch``: a family spec (``plan.arch``) or its JSON form. ``device``: ``cuda`` (device memory
    as ``max_memory_allocated`` reports it) or ``cpu`` (process memory). ``attention``: the
    attention kernel modelled (default: what ``device`` runs); ``attention_kernel`` names it,
    null for a network without attention.
    """
    _check(batch_size, dtype, device)
    tr = _trace(arch, resolution, device, dtype, attention)
    settings = (batch_size, dtype, channels_last, device)
    known = tr.columns.answers.get(settings)  # nearby factors often round to one network
    if known is None:
        known = {"batch_size": batch_size, "dtype": dtype, "channels_last": channels_last, "device": device,
                 "attention_kernel": (attention or default_kernel(device, dtype)) if tr.has_attention else None}
        for mode in MODES:
            known[mode] = _mode_memory(tr, resolution, batch_size, dtype, channels_last, device, mode)
        known["training"]["saved_activation_bytes"] = saved_activation_bytes(tr, batch_size, dtype)
        tr.columns.remember(settings, known)
    return {k: dict(v) if isinstance(v, dict) else v for k, v in known.items()}  # the caller's to change


def plan_memory(plan, batch_size: int = DEFAULT_BATCH_SIZE, dtype: str = DEFAULT_DTYPE, channels_last: bool = False,
                device: str = "cuda", attention: str | None = None) -> dict:
    """The ``memory`` object of a plan (a ``Plan`` or its JSON): what POST /plan returns and
    ``fastscale plan --json`` prints, built here once so both say the same."""
    if isinstance(plan, dict):
        return predict_memory(plan["arch"], plan["resolution"], batch_size, dtype, channels_last, device, attention)
    return predict_memory(plan.arch, plan.resolution, batch_size, dtype, channels_last, device, attention)


def _required_candidates(arch, resolution: int, batch: int, dtype: str, mode: str, channels_last: bool,
                         device: str) -> list[int]:
    """Required bytes if the peak fell at each step; each is affine in the batch."""
    if mode not in MODES:
        raise ScalingError("mode", f"unknown mode {mode!r}", ", ".join(MODES))
    _check(batch, dtype, device)
    tr = _trace(arch, resolution, device, dtype)
    persistent, extra, _ = _fixed_bytes(tr, resolution, batch, dtype, device, mode)
    live = _live(tr, batch, dtype, device, mode)
    return [v + persistent + extra for v in (live if isinstance(live, list) else live.tolist())]


def required_bytes(arch, resolution: int, batch_size: int, dtype: str, mode: str, channels_last: bool = False,
                   device: str = "cuda") -> int:
    """What must fit for one step of ``mode`` at ``batch_size`` (the guard's figure)."""
    return max(_required_candidates(arch, resolution, batch_size, dtype, mode, channels_last, device))


def largest_batch(arch, resolution: int, dtype: str, mode: str, budget_bytes: float, channels_last: bool = False,
                  device: str = "cuda") -> int:
    """Largest batch whose ``required_bytes`` fit in ``budget_bytes`` (0 if not even batch 1).

    Every candidate peak is affine in the batch (activations and inputs scale with it; weights,
    statistics and host objects do not), so two evaluations give each line and the answer is
    the smallest of their crossings with the budget: exact, and no trial steps.
    """
    if isinstance(budget_bytes, bool) or not isinstance(budget_bytes, (int, float)) or not budget_bytes >= 0:
        raise ScalingError("budget_bytes", f"must be a non-negative number, got {budget_bytes!r}")
    one = _required_candidates(arch, resolution, 1, dtype, mode, channels_last, device)
    two = _required_candidates(arch, resolution, 2, dtype, mode, channels_last, device)
    best = MAX_BATCH
    for at1, at2 in zip(one, two):
        slope, at0 = at2 - at1, 2 * at1 - at2
        if slope <= 0:
            best = best if at1 <= budget_bytes else 0
        else:
            best = min(best, int((budget_bytes - at0) // slope))
    return max(0, best)


def largest_batch_bracket(arch, resolution: int, dtype: str, mode: str, budget_bytes: int, tolerance: float = 0.15,
                          channels_last: bool = False, device: str = "cuda") -> tuple[int, int]:
    """(lo, hi): the largest batch if the model over- or under-predicts by ``tolerance``.

    The worker's find_max_batch can trust lo to fit and hi to fail (within the model's stated
    error) and bisect between them: log2(hi - lo) trial steps instead of a doubling from 1.
    """
    lo = largest_batch(arch, resolution, dtype, mode, budget_bytes / (1 + tolerance), channels_last, device)
    hi = largest_batch(arch, resolution, dtype, mode, budget_bytes / max(1e-9, 1 - tolerance), channels_last, device)
    return lo, hi + 1
