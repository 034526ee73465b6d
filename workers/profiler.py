"""Measure a model's inference and training-step time and memory, precisely (torch only).

Method, per mode (issue #4):
1. Random inputs and labels (never zeros: they hide wrong indexing and can run faster).
2. cudnn.benchmark on, so the first warm-up iterations do the autotuning before timing starts.
3. Warm-up until iteration times settle: the median of the last few iterations is within 2 % of
   the median of the few before (or a warm-up time cap is reached).
4. Timed iterations, each timed on its own (CUDA events on GPU, perf_counter on CPU), until the
   95 % confidence interval of the median is within +-1 % of the median, or the mode's time budget
   runs out (reported as ``stable: false``).
Inference runs in eval mode under no_grad; training is forward, cross-entropy loss, backward and
an SGD-momentum step in train mode. The model's weights and BatchNorm statistics are restored
after training, so the modes do not affect each other or a later profile.

Importable with torch alone (no fastapi, redis or rq), so bench/gpu_check.py runs on bare GPU hosts.
"""

from __future__ import annotations

import contextlib
import copy
import gc
import math
import platform
import time
from dataclasses import asdict, dataclass, field
from typing import Callable

import torch
import torch.nn.functional as F

from workers.profiler_free import cpu_model
from workers.stats import rel_half_width, summarize

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
MODES = ("inference", "training")


@dataclass
class ProfileConfig:
    batch_size: int = 64
    modes: tuple = MODES
    dtype: str = "float32"
    channels_last: bool = False
    time_budget_s: float = 10.0  # per mode, warm-up included
    target_rel_ci: float = 0.01
    min_iters: int = 10
    max_iters: int = 100_000
    warmup_fraction: float = 0.3  # at most this share of the budget goes to warm-up
    seed: int = 0
    num_classes: int = 1000
    extra: dict = field(default_factory=dict)


class ProfileOOM(RuntimeError):
    """The model does not fit at this batch size; the message names what was asked and free."""


Progress = Callable[..., None]


def _noop(*_args, **_kwargs) -> None:
    return None


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


class Timer:
    """Times single iterations: CUDA events on GPU (no host clock), perf_counter on CPU."""

    def __init__(self, device: torch.device):
        self.cuda = device.type == "cuda"

    def run(self, fn: Callable[[], None], count: int) -> list[float]:
        if self.cuda:
            events = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)) for _ in range(count)]
            for start, end in events:
                start.record()
                fn()
                end.record()
            torch.cuda.synchronize()
            return [start.elapsed_time(end) for start, end in events]
        times = []
        for _ in range(count):
            t = time.perf_counter_ns()
            fn()
            times.append((time.perf_counter_ns() - t) / 1e6)
        return times


def _settled(times: list[float], k: int = 3, tol: float = 0.02) -> bool:
    if len(times) < 2 * k:
        return False
    last = sorted(times[-k:])[k // 2]
    before = sorted(times[-2 * k:-k])[k // 2]
    return abs(last / before - 1) <= tol


def measure(fn: Callable[[], None], device: torch.device, cfg: ProfileConfig, progress: Progress, mode: str) -> dict:
    """Warm up until settled, then time until the median's CI is tight or the budget is spent."""
    timer = Timer(device)
    budget_end = time.monotonic() + cfg.time_budget_s
    warm_end = time.monotonic() + cfg.time_budget_s * cfg.warmup_fraction
    warm: list[float] = []
    progress(f"{mode}: warm-up")
    while True:
        warm += timer.run(fn, 1)
        if len(warm) >= 2 and (_settled(warm) or time.monotonic() > warm_end):
            break
    # Batch the iterations between checks so checking costs little, but keep each batch short.
    per_iter_s = max(min(warm[-3:]) / 1e3, 1e-5)
    chunk = max(1, min(50, int(0.25 / per_iter_s)))
    times: list[float] = []
    summary: dict = {}
    stable = False
    while len(times) < cfg.max_iters:
        times += timer.run(fn, chunk)
        summary = summarize(times)
        rel = rel_half_width(summary)
        progress(f"{mode}: timing", n=len(times), rel_ci=round(rel, 4), median_ms=round(summary["median_ms"], 4))
        if len(times) >= cfg.min_iters and rel <= cfg.target_rel_ci:
            stable = True
            break
        if time.monotonic() + chunk * per_iter_s > budget_end:
            break
    summary.update(stable=stable, warmup_iters=len(warm), warmup_ms=sum(warm))
    summary["throughput_per_s"] = cfg.batch_size / (summary["median_ms"] / 1e3)
    return summary


def _autocast(device: torch.device, dtype: str):
    if dtype == "float32":
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=DTYPES[dtype])


def _oom_message(cfg: ProfileConfig, mode: str, device: torch.device, exc: BaseException) -> str:
    free = total = None
    if device.type == "cuda":
        with contextlib.suppress(Exception):
            free, total = torch.cuda.mem_get_info(device)
    asked = str(exc).split("Tried to allocate", 1)[-1].split(".")[0].strip() if "Tried to allocate" in str(exc) else "unknown"
    gib = lambda b: f"{b / 2**30:.2f} GiB" if b is not None else "unknown"  # noqa: E731
    return (f"out of memory in {mode} at batch size {cfg.batch_size} ({cfg.dtype}): asked {asked}, "
            f"{gib(free)} free of {gib(total)}; try a smaller batch_size")


def release_memory(device: torch.device) -> None:
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()


def profile_model(model: torch.nn.Module, resolution: int, device: torch.device, cfg: ProfileConfig,
                  progress: Progress = _noop) -> dict:
    """Profile ``model`` (already built, on CPU or meta-free) in each requested mode."""
    torch.manual_seed(cfg.seed)
    torch.backends.cudnn.benchmark = True
    fmt = torch.channels_last if cfg.channels_last else torch.contiguous_format
    model = model.to(device=device, memory_format=fmt)
    x = torch.randn(cfg.batch_size, 3, resolution, resolution, device=device).to(memory_format=fmt)
    y = torch.randint(0, cfg.num_classes, (cfg.batch_size,), device=device)
    result: dict = {}
    for mode in cfg.modes:
        if device.type == "cuda":
            torch.cuda.synchronize(device)
            torch.cuda.reset_peak_memory_stats(device)
        try:
            if mode == "inference":
                result[mode] = _profile_inference(model, x, device, cfg, progress)
            else:
                result[mode] = _profile_training(model, x, y, device, cfg, progress)
        except torch.cuda.OutOfMemoryError as exc:
            message = _oom_message(cfg, mode, device, exc)
            del exc
            release_memory(device)
            raise ProfileOOM(message) from None
        if device.type == "cuda":
            result[mode]["peak_memory_bytes"] = torch.cuda.max_memory_allocated(device)
            result[mode]["peak_reserved_bytes"] = torch.cuda.max_memory_reserved(device)
        else:
            result[mode]["peak_memory_bytes"] = None
            result[mode]["peak_reserved_bytes"] = None
    result["settings"] = {
        **{k: v for k, v in asdict(cfg).items() if k not in ("extra",)},
        "modes": list(cfg.modes),
        "cudnn_benchmark": torch.backends.cudnn.benchmark,
        "tf32_matmul": torch.backends.cuda.matmul.allow_tf32,
        "tf32_cudnn": torch.backends.cudnn.allow_tf32,
        "resolution": resolution,
    }
    result["device"] = device_info(device, cfg.dtype)
    return result


def _profile_inference(model, x, device, cfg, progress) -> dict:
    model.eval()

    def step() -> None:
        with torch.no_grad(), _autocast(device, cfg.dtype):
            model(x)

    return measure(step, device, cfg, progress, "inference")


def _profile_training(model, x, y, device, cfg, progress) -> dict:
    saved = copy.deepcopy(model.state_dict())  # weights and BatchNorm running statistics
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=1e-6, momentum=0.9)
    scaler = torch.amp.GradScaler(device.type, enabled=cfg.dtype == "float16")

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        with _autocast(device, cfg.dtype):
            loss = F.cross_entropy(model(x), y)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()

    try:
        return measure(step, device, cfg, progress, "training")
    finally:
        model.load_state_dict(saved)
        del opt
        model.zero_grad(set_to_none=True)


def pick_device(kind: str) -> torch.device:
    if kind == "cuda" or (kind == "auto" and torch.cuda.is_available()):
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


__all__ = ["ProfileConfig", "ProfileOOM", "profile_model", "device_info", "pick_device", "release_memory", "math"]
