"""GPU check for issue #4: the paper's result reproduced with fastscale's profiler, in one table.

EfficientNet-B0 and RegNetY-400MF scaled by w, dw, dwr, dWr to 1, 2, 4, 8, 16x (batch 64, fp32):
flops, params, acts, inference and training ms, peak memory, stable flags; then per base the
Pearson r of time with flops/params/acts, the dWr/dwr training-time ratio at the largest factor,
and the repeat spread (max/min - 1) of three independent profiles of the base model.
Targets on an H100 (PAPER.md): r(acts) >= 0.99; dWr/dwr <= 0.5 at 16x; repeat spread <= 2 %.

Needs torch (and numpy, which the planner uses) only: no fastapi, redis or rq, so it runs on a
bare GPU image. Sized for ~4 minutes of H100 time with the defaults; on a CPU try
  python bench/gpu_check.py --device cpu --batch 1 --factors 0.0625 0.125 --budget 0.3 --repeats 3
Writes the full numbers as JSON with --json-out (e.g. $OUT/gpu_check.json on the device).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from fastscale.prediction.analysis import pearson  # noqa: E402
from fastscale.build.builder import build_plan  # noqa: E402
from fastscale.planning.planner import make_plan  # noqa: E402
from workers.profiler import MODES, ProfileConfig, pick_device, profile_model, release_memory  # noqa: E402


def profile(plan, device, cfg) -> dict:
    model = build_plan(plan)
    try:
        return profile_model(model, plan.resolution, device, cfg)
    finally:
        del model
        release_memory(device)


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    ap.add_argument("--bases", nargs="+", default=["EfficientNet-B0", "RegNetY-400MF"])
    ap.add_argument("--strategies", nargs="+", default=["w", "dw", "dwr", "dWr"])
    ap.add_argument("--factors", nargs="+", type=float, default=[1, 2, 4, 8, 16])
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--dtype", default="float32", choices=("float32", "bfloat16", "float16"))
    ap.add_argument("--budget", type=float, default=2.0, help="per-mode timing budget, seconds")
    ap.add_argument("--repeats", type=int, default=3, help="independent profiles of each base model")
    ap.add_argument("--json-out", type=Path, default=None)
    return ap.parse_args()


def measure_rows(base: str, args, device, cfg, started: float) -> list[dict]:
    """One row per (strategy, factor); each distinct architecture is measured once."""
    measured: dict = {}  # architecture key -> result, so the 1x base is measured once
    rows = []
    for strategy in args.strategies:
        for s in args.factors:
            plan = make_plan(base, strategy=strategy, factor=s)
            key = json.dumps([plan.arch.to_dict(), plan.resolution], sort_keys=True)
            if key not in measured:
                measured[key] = profile(plan, device, cfg)
            r = measured[key]
            row = {"base": base, "strategy": strategy, "s": s, **plan.complexity,
                   "achieved": plan.achieved_factor, "resolution": plan.resolution,
                   "inference_ms": r["inference"]["median_ms"], "training_ms": r["training"]["median_ms"],
                   "inference_stable": r["inference"]["stable"], "training_stable": r["training"]["stable"],
                   "inference_n": r["inference"]["n"], "training_n": r["training"]["n"],
                   "stop": f"{r['inference'].get('stop_reason')}/{r['training'].get('stop_reason')}",
                   "peak_memory_bytes": r["training"]["peak_memory_bytes"], "key": key}
            rows.append(row)
            print(f"[{time.monotonic() - started:6.1f}s] {base} {strategy} {s:g}x: "
                  f"inf {row['inference_ms']:.2f} ms, train {row['training_ms']:.2f} ms", flush=True)
    return rows


def summarize_base(base: str, rows: list[dict], reps: list[dict], args) -> dict:
    """Pearson r over distinct models, the dWr/dwr ratio at the top factor, the repeat spread."""
    distinct = list({r["key"]: r for r in rows}.values())
    corr = {mode: {m: pearson([r[m] for r in distinct], [r[f"{mode}_ms"] for r in distinct])
                   for m in ("flops", "params", "acts")} for mode in MODES}
    top = max(args.factors)
    by = {(r["strategy"], r["s"]): r for r in rows}
    ratio = (by[("dWr", top)]["training_ms"] / by[("dwr", top)]["training_ms"]
             if ("dWr", top) in by and ("dwr", top) in by else float("nan"))
    spread = {mode: max(r[mode]["median_ms"] for r in reps) / min(r[mode]["median_ms"] for r in reps) - 1
              for mode in MODES}
    return {"base": base, "pearson": corr, "dWr_over_dwr_training": ratio, "top_factor": top,
            "repeat_spread": spread, "repeat_medians": {m: [r[m]["median_ms"] for r in reps] for m in MODES}}


def _r(value) -> str:
    return "  -  " if value is None else f"{value:.3f}"


def print_rows(rows: list[dict]) -> None:
    head = (f"{'base':16} {'strat':5} {'s':>5} {'GFLOPs':>7} {'Mparams':>8} {'Macts':>7} {'inf ms':>8} {'train ms':>9} "
            f"{'peak MiB':>9} {'n inf/train':>11} stable stop")
    print(head)
    print("-" * len(head))
    for r in rows:
        mem = f"{r['peak_memory_bytes'] / 2**20:9.0f}" if r["peak_memory_bytes"] else f"{'-':>9}"
        stable = ("y" if r["inference_stable"] else "n") + "/" + ("y" if r["training_stable"] else "n")
        print(f"{r['base']:16} {r['strategy']:5} {r['s']:5g} {r['flops'] / 1e9:7.2f} {r['params'] / 1e6:8.2f} "
              f"{r['acts'] / 1e6:7.2f} {r['inference_ms']:8.2f} {r['training_ms']:9.2f} {mem} "
              f"{str(r['inference_n']) + '/' + str(r['training_n']):>11} {stable:6} {r['stop']}")
    print()


def print_summary(s: dict, repeats: int) -> None:
    p = s["pearson"]
    print(f"{s['base']}: Pearson r  training: flops {_r(p['training']['flops'])} params {_r(p['training']['params'])} "
          f"acts {_r(p['training']['acts'])} | inference: flops {_r(p['inference']['flops'])} "
          f"params {_r(p['inference']['params'])} acts {_r(p['inference']['acts'])}")
    print(f"{s['base']}: dWr/dwr training time at {s['top_factor']:g}x = {s['dWr_over_dwr_training']:.3f}; "
          f"repeat spread inference {100 * s['repeat_spread']['inference']:.2f} %, "
          f"training {100 * s['repeat_spread']['training']:.2f} % ({repeats} profiles)")
    checks = [(p["training"]["acts"] or 0) >= 0.99, (p["inference"]["acts"] or 0) >= 0.99,
              s["dWr_over_dwr_training"] <= 0.5, s["repeat_spread"]["inference"] <= 0.02,
              s["repeat_spread"]["training"] <= 0.02]
    print(f"{s['base']}: H100 targets (r acts >= 0.99 both modes, dWr/dwr <= 0.5, spread <= 2 %): "
          + " ".join("ok" if c else "MISS" for c in checks))


def main() -> int:
    args = parse_args()
    device = pick_device(args.device)
    cfg = ProfileConfig(batch_size=args.batch, dtype=args.dtype, time_budget_s=args.budget)
    started = time.monotonic()
    rows, summary, reps = [], [], []
    for base in args.bases:
        base_rows = measure_rows(base, args, device, cfg, started)
        base_plan = make_plan(base, strategy="dWr", factor=1)
        reps = [profile(base_plan, device, cfg) for _ in range(args.repeats)]
        summary.append(summarize_base(base, base_rows, reps, args))
        rows += base_rows
    dev = reps[0]["device"] if reps else {}
    print(f"\nfastscale gpu_check on {dev.get('name')} (torch {dev.get('torch')}, cuda {dev.get('cuda')}), "
          f"batch {args.batch}, {args.dtype}, budget {args.budget:g} s/mode, {time.monotonic() - started:.0f} s")
    print_rows(rows)
    for s in summary:
        print_summary(s, args.repeats)
    if args.json_out:
        args.json_out.write_text(json.dumps({"rows": [{k: v for k, v in r.items() if k != "key"} for r in rows],
                                             "summary": summary, "device": dev, "args": vars(args)}, default=str, indent=1))
    return 0


if __name__ == "__main__":
    torch.backends.cudnn.benchmark = True
    sys.exit(main())
