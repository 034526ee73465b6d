"""Measure a model's inference and training-step time and memory, precisely (torch only).

Method, per mode (issue #4):
1. Random inputs and labels (never zeros: they hide wrong indexing and can run faster).
2. cudnn.benchmark on, so the first warm-up iterations do the autotuning before timing starts.
3. Warm-up until iteration times settle: the median of the last few iterations is within 2 % of
   the median of the few before (past 30 % of the budget, also once the slow start is over), at
   most ``warmup_cap_s``. Warm-up never spends the timed budget.
4. Timed iterations, each timed on its own (CUDA events on GPU, perf_counter on CPU), until the
   95 % confidence interval of the median is within +-1 % of the median with n >= min_iters
   (``stop_reason: converged``, ``stable: true``), or the timed budget, counted from the end of
   warm-up, runs out (``budget``). min_iters always run unless the hard per-mode cap stops the
   mode first (``cap``). On a GPU the next chunk of iterations is queued before the last one is
   read, so the GPU never idles between checks (``timing``).
5. Peak memory is the steady state: the allocator's peak over the timed iterations, with the
   warm-up's (cuDNN autotuning) kept beside it (``peaks``).
The parts: ``timing`` (the measure loop), ``peaks`` (peak memory of a mode), ``memory``
(out-of-memory, largest batch), ``modes`` (the timed steps), ``config`` (ProfileConfig),
``kernel_probe`` (a CPU step this host's torch crashes in, refused before it runs).
Importable with torch alone (no fastapi, redis or rq), so bench/gpu_check.py runs on bare GPU
hosts.
"""

from __future__ import annotations

import platform
from dataclasses import asdict, replace

import torch

from workers.host import cpu_model
from workers.profiler.config import DTYPES, MODES, ProfileConfig, Progress, no_progress
from workers.profiler.kernel_probe import UnsoundKernel, refuse_unsound_step
from workers.profiler.memory import (
    BatchPredictor, ProfileOOM, find_max_batch, is_oom, largest_batch, oom_message, release_memory, step_budget,
)
from workers.profiler.modes import fits, profile_inference, profile_training, random_batch
from workers.profiler.peaks import free_blas_workspaces
from workers.profiler.timing import measure

__all__ = ["DTYPES", "MODES", "BatchPredictor", "ProfileConfig", "ProfileOOM", "device_info", "find_max_batch",
           "largest_batch", "measure",
           "UnsoundKernel", "pick_device", "profile_model", "release_memory"]


def device_info(device: torch.device, dtype: str) -> dict:
    info = {"kind": device.type, "torch": torch.__version__, "dtype": dtype, "python": platform.python_version()}
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        info.update(
            name=props.name,
            memory_bytes=props.total_memory,
            capability=f"{props.major}.{props.minor}",
            cuda=torch.version.cuda,
            cudnn=torch.backends.cudnn.version(),
        )
    else:
        info.update(name=cpu_model(), threads=torch.get_num_threads(), cuda=None, cudnn=None)
    return info


def pick_device(kind: str) -> torch.device:
    if kind == "cuda" or (kind == "auto" and torch.cuda.is_available()):
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def profile_model(model: torch.nn.Module, resolution: int, device: torch.device, cfg: ProfileConfig,
                  progress: Progress = no_progress, predict_batch: BatchPredictor | None = None) -> dict:
    """Profile ``model`` (already built, on CPU or meta-free) in each requested mode.

    ``predict_batch(mode, budget_bytes) -> (largest batch, (lo, hi))``, the memory model's answer
    for this model, lets find_max_batch start there (a few trial steps); without it the search
    doubles from the requested batch.
    """
    if device.type != "cpu":
        return _profile_model(model, resolution, device, cfg, progress, predict_batch)
    # Denormal floats can slow CPU math by orders of magnitude depending on the weights drawn;
    # flushing them makes repeated measurements comparable. The flag is process-wide (it changes
    # all float arithmetic, Python's too), so it is set for the measurement only.
    torch.set_flush_denormal(True)
    try:
        return _profile_model(model, resolution, device, cfg, progress, predict_batch)
    finally:
        torch.set_flush_denormal(False)


def _num_classes(model: torch.nn.Module) -> int:
    return next(m.out_features for m in reversed(list(model.modules())) if isinstance(m, torch.nn.Linear))


def _max_batch(model, resolution: int, device: torch.device, cfg: ProfileConfig, mode: str, limit: int,
               predict_batch: BatchPredictor | None) -> tuple[int, dict]:
    """The largest batch of ``mode`` that fits (at most ``limit``), and how it was found."""
    steps: list[int] = []

    def fits_counted(b: int) -> bool:
        steps.append(b)
        return fits(model, resolution, device, cfg, mode, b)

    if predict_batch is None:
        best = largest_batch(fits_counted, min(cfg.batch_size, limit), limit)
        return best, {"trials": steps}
    budget = step_budget(device, model)
    predicted, bracket = predict_batch(mode, budget)
    best = find_max_batch(fits_counted, predicted, bracket, limit)
    return best, {"predicted": predicted, "bracket": list(bracket), "budget_bytes": budget, "trials": steps}


def _profile_model(model, resolution: int, device: torch.device, cfg: ProfileConfig, progress: Progress,
                   predict_batch: BatchPredictor | None) -> dict:
    for mode in cfg.modes:  # before anything is measured: a refused mode fails the job at once
        refuse_unsound_step(device, cfg.dtype, cfg.channels_last, mode)
    torch.manual_seed(cfg.seed)
    torch.backends.cudnn.benchmark = True
    model = model.to(device=device, memory_format=cfg.memory_format)
    if cfg.num_classes is None:
        cfg = replace(cfg, num_classes=_num_classes(model))  # a copy: the caller's config stays as given
    batch: list = []  # (images, labels), made once and shared by the modes
    result = {mode: _profile_mode(model, resolution, device, cfg, progress, mode, batch, predict_batch)
              for mode in cfg.modes}
    batch.clear()
    if cfg.find_max_batch:
        release_memory(device)
        progress("finding the largest batch")
        found = {mode: _max_batch(model, resolution, device, cfg, mode, cfg.max_batch_limit, predict_batch)
                 for mode in cfg.modes}
        result["max_batch_size"] = {mode: best for mode, (best, _how) in found.items()}
        result["max_batch_search"] = {mode: how for mode, (_best, how) in found.items()}
    result["settings"] = {
        **asdict(cfg),
        "modes": list(cfg.modes),
        "cudnn_benchmark": torch.backends.cudnn.benchmark,
        "tf32_matmul": torch.backends.cuda.matmul.allow_tf32,
        "tf32_cudnn": torch.backends.cudnn.allow_tf32,
        "resolution": resolution,
    }
    result["device"] = device_info(device, cfg.dtype)
    return result


def _profile_mode(model, resolution: int, device: torch.device, cfg: ProfileConfig, progress: Progress, mode: str,
                  batch: list, predict_batch: BatchPredictor | None) -> dict:
    """One mode's timings and peak memory; running out of memory becomes ``ProfileOOM``."""
    free_blas_workspaces(device)
    x = y = failure = None
    try:
        if not batch:  # inside the OOM handling: a large batch may not even fit its input
            batch.extend(random_batch(cfg, cfg.batch_size, resolution, device))
        x, y = batch
        if mode == "inference":
            out = profile_inference(model, x, device, cfg, progress)
        else:
            out = profile_training(model, x, y, device, cfg, progress)
    except Exception as exc:  # noqa: BLE001 - only OOM is translated, the rest re-raised
        if not is_oom(exc):
            raise
        failure = oom_message(cfg, mode, device, exc)
    if failure is not None:
        # Outside the except block on purpose: there the OOM exception (and through its
        # traceback, the failed step's frames and tensors) would stay alive as the new
        # exception's __context__, and the memory would never be released.
        x = y = None
        batch.clear()
        _give_up(model, resolution, device, cfg, mode, failure, predict_batch)
    return out  # its peak memory is the eager step's steady state (profiler.peaks), read by measure


def _give_up(model, resolution: int, device: torch.device, cfg: ProfileConfig, mode: str, failure: str,
             predict_batch: BatchPredictor | None) -> None:
    """Release what the failed step held, find the largest batch that fits if asked, raise ProfileOOM."""
    model.zero_grad(set_to_none=True)
    release_memory(device)
    if cfg.find_max_batch:
        best, _how = _max_batch(model, resolution, device, cfg, mode, cfg.batch_size - 1, predict_batch)
        failure += f"; the largest batch that fits is {best}" if best else "; not even batch size 1 fits"
    raise ProfileOOM(failure)
