"""Why a GPU profile's memory or timing is off: a short diagnostic beside bench/gpu_e2e.py.

gpu_e2e's first H200 run (issue #10) showed two things the service could not explain from its
own records: (1) the measured peak of one network differed between its first profile in a
worker and a later one (autotuning), and (2) three EfficientNet-B0 training steps (dw 4x,
dwr 4x, dWr 8x) never reached a +-1 % CI of the median in their 10 s budget. This script, with
torch and the core only (no service), measures for a few EfficientNet-B0 scalings:

- ``profile``: the profiler itself, twice per network in one process (first: shapes new to
  cuDNN; second: autotuning cached): steady peak, warm-up peak and baseline per mode, against
  the memory model's required and first-run predictions;
- ``spread``: raw training-step times, with Python's garbage collector on (as the profiler
  ran them) and off, with host enqueue time per step, SM clock and power (NVML) at each step:
  is the spread the host (GC, launches) or the GPU (clocks)?
- ``modules``: eval forward of the base, per leaf module, memory allocated beyond the module's
  input and output at its peak: where memory beyond the model's live set goes.

Each record is appended to ``--out`` (JSON lines) as soon as it is measured, so a run cut
short still says what it found; ``--deadline-s`` skips what would not finish. On a CPU,
``--smoke`` runs the same steps on a tiny network in seconds (no memory figures).
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from fastscale.build.builder import build_plan  # noqa: E402
from fastscale.memory import plan_memory  # noqa: E402
from fastscale.planning.planner import make_plan  # noqa: E402
from workers.profiler import ProfileConfig, pick_device, profile_model, release_memory  # noqa: E402
from workers.stats import rel_half_width, summarize  # noqa: E402

SMOKE_SPEC = {"family": "anynet", "stem_type": "simple_stem_in", "stem_w": 8, "block_type": "res_bottleneck_block",
              "depths": [1, 1], "widths": [16, 32], "strides": [2, 2], "bot_muls": [1.0, 1.0], "group_ws": [8, 8],
              "se_r": 0.25, "num_classes": 10}


class Nvml:
    """SM clock (MHz), power (W) and the throttle-reason bits, or None where NVML is missing."""

    def __init__(self):
        try:
            import pynvml

            pynvml.nvmlInit()
            self.nv, self.handle = pynvml, pynvml.nvmlDeviceGetHandleByIndex(0)
        except Exception:  # noqa: BLE001 - a diagnostic: without NVML the other figures still count
            self.nv = None

    def read(self) -> tuple | None:
        if self.nv is None:
            return None
        nv, h = self.nv, self.handle
        reasons = nv.nvmlDeviceGetCurrentClocksEventReasons(h) if hasattr(nv, "nvmlDeviceGetCurrentClocksEventReasons") \
            else nv.nvmlDeviceGetCurrentClocksThrottleReasons(h)
        return nv.nvmlDeviceGetClockInfo(h, nv.NVML_CLOCK_SM), nv.nvmlDeviceGetPowerUsage(h) / 1000, int(reasons)


def emit(out: Path, record: dict) -> None:
    line = json.dumps(record, default=str)
    print(line[:400] + (" ..." if len(line) > 400 else ""), flush=True)
    with out.open("a") as f:
        f.write(line + "\n")


def plans(smoke: bool) -> list[tuple[str, object]]:
    if smoke:
        return [("tiny 1x", make_plan(spec=SMOKE_SPEC, strategy="w", factor=1.0, resolution=32)),
                ("tiny dWr 2x", make_plan(spec=SMOKE_SPEC, strategy="dWr", factor=2.0, resolution=32))]
    cases = [("w", 1.0), ("dw", 4.0), ("dwr", 4.0), ("dWr", 8.0)]
    return [(f"{s} {f:g}x", make_plan(model="EfficientNet-B0", strategy=s, factor=f)) for s, f in cases]


def profile_twice(out: Path, label: str, plan, device, cfg: ProfileConfig) -> None:
    memory = plan_memory(plan, cfg.batch_size, cfg.dtype, cfg.channels_last, device.type)
    for attempt in ("first", "second"):
        torch.manual_seed(0)
        model = build_plan(plan)
        try:
            result = profile_model(model, plan.resolution, device, cfg)
        finally:
            del model
            release_memory(device)
        for mode in cfg.modes:
            r, m = result[mode], memory[mode]
            emit(out, {"step": "profile", "label": label, "attempt": attempt, "mode": mode,
                       "median_ms": r["median_ms"], "n": r["n"], "stop": r["stop_reason"], "rel_ci": r["rel_ci"],
                       "drift": r["drift"], "p10_ms": r["p10_ms"], "p90_ms": r["p90_ms"],
                       "warmup_ms": r["warmup_ms"], "peak": r.get("peak_memory_bytes"),
                       "warmup_peak": r.get("warmup_peak_memory_bytes"), "baseline": r.get("baseline_memory_bytes"),
                       "reserved": r.get("peak_reserved_bytes"), "required": m["required_bytes"],
                       "workspace": m["workspace_bytes"], "persistent": m["persistent_bytes"],
                       "activations": m["activation_bytes"]})


def _timed_steps(step, iters: int, cuda: bool, nvml: Nvml) -> tuple[list[float], list[float], list]:
    """``iters`` back-to-back steps: device times (CUDA events, read once at the end), host enqueue
    times, and NVML's clock and power after each enqueue."""
    host, clocks, times, events = [], [], [], []
    for _ in range(iters):
        t0 = time.perf_counter()
        if cuda:
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            step()
            end.record()
            events.append((start, end))
        else:
            step()
            times.append((time.perf_counter() - t0) * 1e3)
        host.append((time.perf_counter() - t0) * 1e3)
        clocks.append(nvml.read())
    if cuda:
        torch.cuda.synchronize()
        times = [s.elapsed_time(e) for s, e in events]
    return times, host, clocks


def _spread_record(label: str, gc_on: bool, times, host, clocks, collections) -> dict:
    summary = summarize(times)
    med = summary["median_ms"]
    return {"step": "spread", "label": label, "gc": gc_on, "n": len(times), "median_ms": med,
            "rel_ci": rel_half_width(summary), "p10_ms": summary["p10_ms"], "p90_ms": summary["p90_ms"],
            "min_ms": min(times), "max_ms": max(times), "over_2pct": sum(t > 1.02 * med for t in times),
            "host_median_ms": statistics.median(host), "host_max_ms": max(host), "gc_collections": collections,
            "times_ms": [round(t, 3) for t in times], "host_ms": [round(t, 3) for t in host], "nvml": clocks}


def training_spread(out: Path, label: str, plan, device, cfg: ProfileConfig, iters: int, nvml: Nvml) -> None:
    """Raw step times with GC on, then off (the model warmed up by ``iters // 4`` steps first)."""
    torch.manual_seed(0)
    model = build_plan(plan).to(device).train()
    x = torch.randn(cfg.batch_size, 3, plan.resolution, plan.resolution, device=device)
    y = torch.randint(0, cfg.num_classes or 10, (cfg.batch_size,), device=device)
    opt = torch.optim.SGD(model.parameters(), lr=1e-6, momentum=0.9)

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        opt.step()

    try:
        for _ in range(max(3, iters // 4)):
            step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        for gc_on in (True, False):
            gc.collect()
            if not gc_on:
                gc.disable()
            before = [s["collections"] for s in gc.get_stats()]
            try:
                times, host, clocks = _timed_steps(step, iters, device.type == "cuda", nvml)
            finally:
                gc.enable()
            collections = [s["collections"] - c for s, c in zip(gc.get_stats(), before)]
            emit(out, _spread_record(label, gc_on, times, host, clocks, collections))
    finally:
        del model, x, y, opt
        release_memory(device)


def module_extras(out: Path, label: str, plan, device, cfg: ProfileConfig) -> None:
    """Eval forward, per leaf module: allocated at its peak beyond what it held before plus its output."""
    if device.type != "cuda":
        emit(out, {"step": "modules", "label": label, "skipped": "no CUDA allocator on this device"})
        return
    torch.manual_seed(0)
    model = build_plan(plan).to(device).eval()
    x = torch.randn(cfg.batch_size, 3, plan.resolution, plan.resolution, device=device)
    rows, before = [], {}

    def pre(mod, _inp):
        torch.cuda.reset_peak_memory_stats()
        before[id(mod)] = torch.cuda.memory_allocated()

    def post(mod, _inp, output):
        peak = torch.cuda.max_memory_allocated()
        out_bytes = output.numel() * output.element_size() if torch.is_tensor(output) else 0
        rows.append((name_of[id(mod)], type(mod).__name__, peak - before[id(mod)] - out_bytes, out_bytes))

    name_of = {id(m): n for n, m in model.named_modules()}
    leaves = [m for m in model.modules() if not list(m.children())]
    hooks = [h for m in leaves for h in (m.register_forward_pre_hook(pre), m.register_forward_hook(post))]
    try:
        with torch.no_grad():
            for _ in range(3):  # autotuning done, then the steady state
                rows.clear()
                torch.cuda.reset_peak_memory_stats()
                base = torch.cuda.memory_allocated()
                model(x)
                torch.cuda.synchronize()
                total_peak = torch.cuda.max_memory_allocated()
        rows.sort(key=lambda r: -r[2])
        emit(out, {"step": "modules", "label": label, "baseline": base, "last_module_peak": total_peak,
                   "top_extras": [{"module": n, "type": t, "extra": e, "output": o} for n, t, e, o in rows[:8]]})
    finally:
        for h in hooks:
            h.remove()
        del model, x
        release_memory(device)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--smoke", action="store_true", help="tiny network on the CPU, seconds")
    ap.add_argument("--out", type=Path, default=Path("gpu_probe.jsonl"))
    ap.add_argument("--budget", type=float, default=2.0, help="the profiler's per-mode timed budget, s")
    ap.add_argument("--iters", type=int, default=60, help="raw training steps per GC setting")
    ap.add_argument("--deadline-s", type=float, default=170.0, help="skip steps that start after this")
    args = ap.parse_args(argv)
    started = time.monotonic()
    device = pick_device("cpu" if args.smoke else "cuda")
    batch = 2 if args.smoke else 64
    cfg = ProfileConfig(batch_size=batch, time_budget_s=0.1 if args.smoke else args.budget,
                        warmup_cap_s=2 if args.smoke else 60)
    nvml = Nvml()
    args.out.unlink(missing_ok=True)
    emit(args.out, {"step": "start", "device": str(device), "torch": torch.__version__, "nvml": nvml.read(),
                    "name": torch.cuda.get_device_name(0) if device.type == "cuda" else "cpu"})
    cases = plans(args.smoke)
    steps = [("modules", cases[0])] + [("profile", c) for c in cases] + [("spread", c) for c in cases[1:]]
    for step, (label, plan) in steps:
        left = args.deadline_s - (time.monotonic() - started)
        if left <= 0:
            emit(args.out, {"step": step, "label": label, "skipped": "deadline"})
            continue
        if step == "modules":
            module_extras(args.out, label, plan, device, cfg)
        elif step == "profile":
            profile_twice(args.out, label, plan, device, cfg)
        else:
            training_spread(args.out, label, plan, device, cfg, 10 if args.smoke else args.iters, nvml)
    emit(args.out, {"step": "end", "elapsed_s": time.monotonic() - started})
    return 0


if __name__ == "__main__":
    sys.exit(main())
