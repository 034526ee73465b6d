"""GPU end-to-end check (issue #10, requirement 5): the platform's own path on a GPU host.

Starts `fastscale serve` (embedded Redis, one CUDA worker) and, through the HTTP API as a user
would, runs: a /scale with CUDA graphs; the EfficientNet-B0 sweep (w, dw, dwr, dWr at 1, 2, 4, 8,
16x); three forced re-measurements of the base; a bf16 + channels_last profile; a latency-budget
recommendation. Prints one table (per profile and mode: time, n, stop reason, stable, warm-up,
memory predicted/measured and their ratio) and a summary (r per metric and mode over distinct
models, repeat spread, memory error range, how many stable), checks issue #10's goals (PASS/FAIL),
and writes everything as JSON with --json-out.

Needs the service's packages and a GPU worker's (torch); no internet. Sized for about 4-5
minutes on an H100/H200 at the service's default budget (most of it cuDNN autotuning 17 new
networks in the sweep). On a CPU, a short smoke run (tiny network, 2 strategies x 2 factors,
batch 2, 0.2 s budget) exercises the same path; with --model naming a ConvNeXt or ViT zoo entry
the smoke run takes a tiny network of that family instead:
  python bench/gpu_e2e.py --smoke [--model ViT-S/16]
The GPU check of the other families: python bench/gpu_e2e.py --model ViT-S/16 (or ConvNeXt-T).
Exit status: 0 all goals pass (always 0 in smoke mode, whose goals are informational), 1 a goal
failed, 2 the run itself failed (server died, a request refused, a timeout).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.e2e import report  # noqa: E402
from bench.e2e import steps  # noqa: E402
from bench.e2e.server import Server, ServerDied  # noqa: E402

SMOKE_SPEC = {"family": "anynet", "stem_type": "simple_stem_in", "stem_w": 8, "block_type": "res_bottleneck_block",
              "depths": [1, 1], "widths": [16, 32], "strides": [2, 2], "bot_muls": [1.0, 1.0], "group_ws": [8, 8],
              "se_r": 0.25, "num_classes": 10}
SMOKE_FAMILIES = {"vit": {"family": "vit", "depth": 1, "dim": 64, "img_size": 32, "num_classes": 10},
                  "convnext": {"family": "convnext", "depths": [1, 1], "widths": [16, 32], "num_classes": 10}}


def smoke_spec(model: str) -> dict:
    """The tiny smoke network: of the model's family for ConvNeXt and ViT, else an AnyNet."""
    from fastscale import zoo

    return SMOKE_FAMILIES.get(zoo.get(model).family, SMOKE_SPEC)


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--smoke", action="store_true", help="short CPU run of the same path (a test runs it)")
    ap.add_argument("--device", choices=("cuda", "cpu"), default=None, help="default: cuda (cpu with --smoke)")
    ap.add_argument("--model", default="EfficientNet-B0")
    ap.add_argument("--strategies", nargs="+", default=None)
    ap.add_argument("--factors", nargs="+", type=float, default=None)
    ap.add_argument("--batch", type=int, default=None, help="default 64 (2 with --smoke)")
    ap.add_argument("--budget", type=float, default=None, help="per-mode timed budget, s (default: the service's)")
    ap.add_argument("--ready-timeout", type=float, default=180.0, help="seconds to wait for the worker")
    ap.add_argument("--timeout", type=float, default=1800.0, help="seconds to wait for any one request")
    ap.add_argument("--data-dir", type=Path, default=None, help="server data and log (default: a temp dir)")
    ap.add_argument("--json-out", type=Path, default=None)
    return ap.parse_args(argv)


def make_plan(args) -> tuple[steps.Plan, dict]:
    """The run's plan and the server's extra settings, for a GPU run or a CPU smoke run."""
    smoke = args.smoke
    plan = steps.Plan(
        device=args.device or ("cpu" if smoke else "cuda"),
        base={"spec": smoke_spec(args.model)} if smoke else {"model": args.model},
        strategies=args.strategies or (["w", "dWr"] if smoke else ["w", "dw", "dwr", "dWr"]),
        factors=args.factors or ([1.0, 2.0] if smoke else [1.0, 2.0, 4.0, 8.0, 16.0]),
        batch_size=args.batch or (2 if smoke else 64),
        budget_s=args.budget if args.budget is not None else (0.2 if smoke else None),
        cuda_graphs=(args.device or ("cpu" if smoke else "cuda")) == "cuda",
        probe_factor=2.0 if smoke else 4.0, tolerance=1.0 if smoke else 0.5, timeout_s=args.timeout)
    # Bound the recommendation's re-measurements (x4 budget each) so the run keeps to its minutes.
    if not smoke:
        return plan, {"FASTSCALE_MAX_TIME_BUDGET_S": str(max(20.0, 2 * (args.budget or 10.0)))}
    # Smoke: one torch thread (two would spin against each other and the API on a small CI box)
    # and short caps, so the whole run stays well under a minute however noisy the host.
    return plan, {"FASTSCALE_MAX_TIME_BUDGET_S": "0.4", "FASTSCALE_WARMUP_CAP_S": "1", "FASTSCALE_MODE_CAP_S": "4",
                  "OMP_NUM_THREADS": "1"}


def run_steps(server: Server, plan: steps.Plan, started: float, ready_timeout: float) -> dict:
    api = server.api
    device_class = server.wait_ready(ready_timeout)
    steps.say(plan, started, f"server ready: worker {device_class}")
    graph = steps.graph_profile(api, plan)
    steps.say(plan, started, f"/scale with CUDA graphs: {len(graph)} profile(s)")
    state, sweep_entries = steps.sweep(api, plan)
    steps.say(plan, started, f"sweep {state['status']}: {len(state['rows'])} rows, {len(sweep_entries)} distinct profiles")
    reps = steps.repeats(api, plan)
    steps.say(plan, started, f"{len(reps)} forced re-measurements of the base done")
    bf16 = steps.bf16_channels_last(api, plan)
    steps.say(plan, started, "bf16 + channels_last profile done")
    known = {e["id"] for e in graph + sweep_entries + bf16}
    rec, rec_entries = steps.recommend(api, plan, state, known)
    steps.say(plan, started, f"recommendation {rec['status']}: {len(rec['evidence'])} measurements")
    return {"device_class": device_class, "sweep": state, "recommendation": rec,
            "entries": {"graph": graph, "sweep": sweep_entries, "repeats": reps, "bf16": bf16, "recommend": rec_entries}}


def _recommendation_line(rec: dict) -> str:
    if rec["status"] == "finished":
        ch = rec["chosen"]
        return f"recommendation: {ch['strategy']} at {ch['factor']:.4g}x ({ch['why']})"
    return f"recommendation {rec['status']}: {(rec.get('error') or {}).get('message')}"


def report_run(out: dict, args, started: float) -> int:
    e = out["entries"]
    everything = e["graph"] + e["sweep"] + e["repeats"] + e["bf16"] + e["recommend"]
    lines = report.profile_lines(everything)
    device = next((x["record"]["result"]["device"] for x in everything if x["record"]["status"] == "finished"), {})
    print(f"\nfastscale gpu_e2e on {device.get('name')} ({out['device_class']}), torch {device.get('torch')}, "
          f"cuda {device.get('cuda')}, {time.monotonic() - started:.0f} s")
    report.print_table(lines)
    print(_recommendation_line(out["recommendation"]))
    summary = report.summarize(out["sweep"], e["sweep"], e["repeats"], lines)
    checks = report.goals(summary)
    report.print_summary(summary, checks, informational=args.smoke)
    if args.json_out:
        args.json_out.write_text(json.dumps({
            "args": {k: str(v) for k, v in vars(args).items()}, "device": device, "device_class": out["device_class"],
            "elapsed_s": time.monotonic() - started, "profiles": lines, "summary": summary, "goals": checks,
            "sweep": {k: out["sweep"].get(k) for k in ("id", "status", "rows", "analysis", "measurement")},
            "recommendation": out["recommendation"]}, indent=1, default=str))
    return 0 if args.smoke or all(g["pass"] is not False for g in checks) else 1


def main(argv=None) -> int:
    args = parse_args(argv)
    plan, env = make_plan(args)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="fastscale-e2e-") as tmp:
        server = Server(plan.device, args.data_dir or Path(tmp), env).start()
        try:
            out = run_steps(server, plan, started, args.ready_timeout)
        except (ServerDied, RuntimeError, TimeoutError, OSError) as exc:
            print(f"gpu_e2e failed after {time.monotonic() - started:.0f} s: {exc}\n--- server log tail ---\n"
                  f"{server.log_tail()}", file=sys.stderr)
            return 2
        finally:
            server.stop()
    return report_run(out, args, started)


if __name__ == "__main__":
    sys.exit(main())
