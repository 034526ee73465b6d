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

from fastscale.builder import build_plan  # noqa: E402
from fastscale.planner import make_plan  # noqa: E402
from workers.profiler import ProfileConfig, pick_device, profile_model, release_memory  # noqa: E402
from workers.stats import pearson  # noqa: E402


def profile(plan, device, cfg) -> dict:
    model = build_plan(plan)
    try:
        return profile_model(model, plan.resolution, device, cfg)
    finally:
        del model
        release_memory(device)


def main() -> int:
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
    args = ap.parse_args()

    device = pick_device(args.device)
    cfg = ProfileConfig(batch_size=args.batch, dtype=args.dtype, time_budget_s=args.budget)
    started = time.monotonic()
    rows, summary = [], []
    for base in args.bases:
        measured: dict = {}  # architecture key -> result, so the 1x base is measured once
        base_rows = []
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
                       "peak_memory_bytes": r["training"]["peak_memory_bytes"], "key": key}
                base_rows.append(row)
                print(f"[{time.monotonic() - started:6.1f}s] {base} {strategy} {s:g}x: "
                      f"inf {row['inference_ms']:.2f} ms, train {row['training_ms']:.2f} ms", flush=True)
        distinct = list({r["key"]: r for r in base_rows}.values())
        corr = {mode: {m: pearson([r[m] for r in distinct], [r[f"{mode}_ms"] for r in distinct])
                       for m in ("flops", "params", "acts")} for mode in ("inference", "training")}
        top = max(args.factors)
        by = {(r["strategy"], r["s"]): r for r in base_rows}
        ratio = (by[("dWr", top)]["training_ms"] / by[("dwr", top)]["training_ms"]
                 if ("dWr", top) in by and ("dwr", top) in by else float("nan"))
        base_plan = make_plan(base, strategy="dWr", factor=1)
        reps = [profile(base_plan, device, cfg) for _ in range(args.repeats)]
        spread = {mode: max(r[mode]["median_ms"] for r in reps) / min(r[mode]["median_ms"] for r in reps) - 1
                  for mode in ("inference", "training")}
        summary.append({"base": base, "pearson": corr, "dWr_over_dwr_training": ratio, "top_factor": top,
                        "repeat_spread": spread, "repeat_medians": {m: [r[m]["median_ms"] for r in reps]
                                                                     for m in ("inference", "training")}})
        rows += base_rows

    dev = reps[0]["device"] if args.repeats else {}
    print(f"\nfastscale gpu_check on {dev.get('name')} (torch {dev.get('torch')}, cuda {dev.get('cuda')}), "
          f"batch {args.batch}, {args.dtype}, budget {args.budget:g} s/mode, {time.monotonic() - started:.0f} s")
    head = f"{'base':16} {'strat':5} {'s':>5} {'GFLOPs':>7} {'Mparams':>8} {'Macts':>7} {'inf ms':>8} {'train ms':>9} {'peak MiB':>9} stable"
    print(head)
    print("-" * len(head))
    for r in rows:
        mem = f"{r['peak_memory_bytes'] / 2**20:9.0f}" if r["peak_memory_bytes"] else f"{'-':>9}"
        stable = ("y" if r["inference_stable"] else "n") + "/" + ("y" if r["training_stable"] else "n")
        print(f"{r['base']:16} {r['strategy']:5} {r['s']:5g} {r['flops'] / 1e9:7.2f} {r['params'] / 1e6:8.2f} "
              f"{r['acts'] / 1e6:7.2f} {r['inference_ms']:8.2f} {r['training_ms']:9.2f} {mem} {stable}")
    print()
    for s in summary:
        p = s["pearson"]
        print(f"{s['base']}: Pearson r  training: flops {p['training']['flops']:.3f} params {p['training']['params']:.3f} "
              f"acts {p['training']['acts']:.3f} | inference: flops {p['inference']['flops']:.3f} "
              f"params {p['inference']['params']:.3f} acts {p['inference']['acts']:.3f}")
        print(f"{s['base']}: dWr/dwr training time at {s['top_factor']:g}x = {s['dWr_over_dwr_training']:.3f}; "
              f"repeat spread inference {100 * s['repeat_spread']['inference']:.2f} %, "
              f"training {100 * s['repeat_spread']['training']:.2f} % ({args.repeats} profiles)")
        checks = [p["training"]["acts"] >= 0.99, p["inference"]["acts"] >= 0.99, s["dWr_over_dwr_training"] <= 0.5,
                  s["repeat_spread"]["inference"] <= 0.02, s["repeat_spread"]["training"] <= 0.02]
        print(f"{s['base']}: H100 targets (r acts >= 0.99 both modes, dWr/dwr <= 0.5, spread <= 2 %): "
              + " ".join("ok" if c else "MISS" for c in checks))
    if args.json_out:
        args.json_out.write_text(json.dumps({"rows": [{k: v for k, v in r.items() if k != "key"} for r in rows],
                                             "summary": summary, "device": dev, "args": vars(args)}, default=str, indent=1))
    return 0


if __name__ == "__main__":
    torch.backends.cudnn.benchmark = True
    sys.exit(main())
