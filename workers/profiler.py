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
import platform
import re
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
    cuda_graphs: bool = False  # also time inference as a CUDA graph replay, beside eager
    find_max_batch: bool = False  # bisect for the largest batch that fits, per mode
    max_batch_limit: int = 8192
    seed: int = 0
    num_classes: int | None = None  # None: read off the model's final linear layer
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


def is_oom(exc: BaseException) -> bool:
    """CUDA's OutOfMemoryError, or the CPU allocator's failure (e.g. under a worker memory cap)."""
    if isinstance(exc, torch.cuda.OutOfMemoryError):
        return True
    text = str(exc)
    # On CPU, oneDNN reports a failed allocation as "could not create a primitive", and C++ code
    # as std::bad_alloc: the same out-of-memory condition in other words.
    markers = ("can't allocate memory", "DefaultCPUAllocator", "could not create a primitive", "bad_alloc")
    return isinstance(exc, MemoryError) or (isinstance(exc, RuntimeError) and any(m in text for m in markers))


def _gib(n: float | None) -> str:
    return f"{n / 2**30:.2f} GiB" if n is not None else "unknown"


def memory_free(device: torch.device) -> tuple[int | None, int | None]:
    """(free, total) bytes: the GPU's, or on CPU the lower of MemAvailable and the address-space cap."""
    if device.type == "cuda":
        with contextlib.suppress(Exception):
            return torch.cuda.mem_get_info(device)
        return None, None
    free = total = None
    with contextlib.suppress(OSError, ValueError):
        info = dict(line.split(":", 1) for line in open("/proc/meminfo"))
        free = int(info["MemAvailable"].split()[0]) * 1024
        total = int(info["MemTotal"].split()[0]) * 1024
    with contextlib.suppress(Exception):
        import resource

        cap = resource.getrlimit(resource.RLIMIT_AS)[0]
        if cap != resource.RLIM_INFINITY:
            with open("/proc/self/status") as fh:
                used = next(int(line.split()[1]) * 1024 for line in fh if line.startswith("VmSize"))
            free, total = min(free or cap, max(0, cap - used)), min(total or cap, cap)
    return free, total


def oom_message(cfg: ProfileConfig, mode: str, device: torch.device, exc: BaseException) -> str:
    text = str(exc)
    match = re.search(r"Tried to allocate ([0-9.]+ [KMGT]?i?B)", text) or re.search(r"allocate (\d+) bytes", text)
    asked = (match.group(1) if "B" in match.group(1) else _gib(int(match.group(1)))) if match else "unknown"
    free, total = memory_free(device)
    return (f"out of memory in {mode} at batch size {cfg.batch_size} ({cfg.dtype}) on {device.type}: "
            f"asked {asked}, {_gib(free)} free of {_gib(total)}; try a smaller batch_size")


def release_memory(device: torch.device) -> None:
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()


def profile_model(model: torch.nn.Module, resolution: int, device: torch.device, cfg: ProfileConfig,
                  progress: Progress = _noop) -> dict:
    """Profile ``model`` (already built, on CPU or meta-free) in each requested mode."""
    if device.type != "cpu":
        return _profile_model(model, resolution, device, cfg, progress)
    # Denormal floats can slow CPU math by orders of magnitude depending on the weights drawn;
    # flushing them makes repeated measurements comparable. The flag is process-wide (it changes
    # all float arithmetic, Python's too), so it is set for the measurement only.
    torch.set_flush_denormal(True)
    try:
        return _profile_model(model, resolution, device, cfg, progress)
    finally:
        torch.set_flush_denormal(False)


def _profile_model(model, resolution: int, device: torch.device, cfg: ProfileConfig, progress: Progress) -> dict:
    torch.manual_seed(cfg.seed)
    torch.backends.cudnn.benchmark = True
    fmt = torch.channels_last if cfg.channels_last else torch.contiguous_format
    model = model.to(device=device, memory_format=fmt)
    if cfg.num_classes is None:
        cfg.num_classes = next(m.out_features for m in reversed(list(model.modules())) if isinstance(m, torch.nn.Linear))
    x = y = None
    result: dict = {}
    for mode in cfg.modes:
        if device.type == "cuda":
            torch.cuda.synchronize(device)
            torch.cuda.reset_peak_memory_stats(device)
        try:
            if x is None:  # inside the OOM handling: a large batch may not even fit its input
                x = torch.randn(cfg.batch_size, 3, resolution, resolution, device=device).to(memory_format=fmt)
                y = torch.randint(0, cfg.num_classes, (cfg.batch_size,), device=device)
            if mode == "inference":
                result[mode] = _profile_inference(model, x, device, cfg, progress)
            else:
                result[mode] = _profile_training(model, x, y, device, cfg, progress)
        except Exception as exc:  # noqa: BLE001 - only OOM is translated, the rest re-raised
            if not is_oom(exc):
                raise
            failure = oom_message(cfg, mode, device, exc)
        else:
            failure = None
        if failure is not None:
            # Outside the except block on purpose: there the OOM exception (and through its
            # traceback, the failed step's frames and tensors) would stay alive as the new
            # exception's __context__, and the memory would never be released.
            x = y = None
            model.zero_grad(set_to_none=True)
            release_memory(device)
            if cfg.find_max_batch:
                best = largest_batch(lambda b, m=mode: _fits(model, resolution, device, cfg, m, b), 1, cfg.batch_size - 1)
                failure += f"; the largest batch that fits is {best}" if best else "; not even batch size 1 fits"
            raise ProfileOOM(failure)
        if device.type == "cuda":
            result[mode]["peak_memory_bytes"] = torch.cuda.max_memory_allocated(device)
            result[mode]["peak_reserved_bytes"] = torch.cuda.max_memory_reserved(device)
        else:
            result[mode]["peak_memory_bytes"] = None
            result[mode]["peak_reserved_bytes"] = None
    if cfg.find_max_batch:
        x = y = None
        release_memory(device)
        progress("finding the largest batch")
        result["max_batch_size"] = {
            mode: largest_batch(lambda b, m=mode: _fits(model, resolution, device, cfg, m, b), cfg.batch_size,
                                cfg.max_batch_limit)
            for mode in cfg.modes
        }
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

    out = measure(step, device, cfg, progress, "inference")
    if cfg.cuda_graphs and device.type == "cuda":
        out["graph"] = _profile_inference_graph(model, x, device, cfg, progress)
    return out


def _profile_inference_graph(model, x, device, cfg, progress) -> dict:
    """The same forward captured once as a CUDA graph and timed as replays (no launch overhead)."""
    static_x = x.clone()
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream), torch.no_grad(), _autocast(device, cfg.dtype):
        for _ in range(3):
            model(static_x)
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph), torch.no_grad(), _autocast(device, cfg.dtype):
        model(static_x)
    try:
        return measure(graph.replay, device, cfg, progress, "inference (CUDA graph)")
    finally:
        del graph


def _fits(model, resolution: int, device, cfg: ProfileConfig, mode: str, batch: int) -> bool:
    """One step of ``mode`` at ``batch``: True if it runs, False on out-of-memory."""
    fmt = torch.channels_last if cfg.channels_last else torch.contiguous_format
    x = y = None
    try:
        x = torch.randn(batch, 3, resolution, resolution, device=device).to(memory_format=fmt)
        if mode == "inference":
            model.eval()
            with torch.no_grad(), _autocast(device, cfg.dtype):
                model(x)
        else:
            saved = copy.deepcopy(model.state_dict())
            model.train()
            y = torch.randint(0, cfg.num_classes, (batch,), device=device)
            with _autocast(device, cfg.dtype):
                F.cross_entropy(model(x), y).backward()
            model.zero_grad(set_to_none=True)
            model.load_state_dict(saved)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        return True
    except Exception as exc:  # noqa: BLE001
        if not is_oom(exc):
            raise
        return False
    finally:
        del x, y
        model.zero_grad(set_to_none=True)
        release_memory(device)


def largest_batch(fits: Callable[[int], bool], lo: int, hi: int) -> int:
    """Largest b in [lo, hi] with fits(b), assuming fits is monotone; 0 if none.

    Doubling from lo finds a failing bound quickly, then bisection narrows it: about
    2 * log2(hi / lo) trial steps.
    """
    if hi < 1:
        return 0
    if lo > hi or not fits(max(1, lo)):
        # lo itself does not fit (or lies beyond hi): search below it, never above hi.
        return 0 if lo <= 1 else largest_batch(fits, 1, min(lo - 1, hi))
    good = max(1, lo)
    bad = None
    probe = good
    while bad is None:
        probe = min(hi, probe * 2)
        if probe == good:
            return good
        if fits(probe):
            good = probe
            if probe == hi:
                return good
        else:
            bad = probe
    while bad - good > 1:
        mid = (good + bad) // 2
        if fits(mid):
            good = mid
        else:
            bad = mid
    return good


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
        model.zero_grad(set_to_none=True)


def pick_device(kind: str) -> torch.device:
    if kind == "cuda" or (kind == "auto" and torch.cuda.is_available()):
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")

