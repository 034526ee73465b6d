"""bench/gpu_e2e.py's table, summary and goal checks, all computed from the service's own answers.

The goals are issue #10's, measured on an H100/H200: every sweep profile stable with n >= 10 in
both modes; repeat spread <= 0.5 %; predicted vs measured peak memory within +-15 % for every
profile in both modes; r(time, acts) >= 0.99 over distinct models in both modes.
"""

from __future__ import annotations

from fastscale.prediction.analysis import METRICS, MODES, distinct_models, pearson

MIN_N = 10
SPREAD_GOAL = 0.005
MEMORY_GOAL = 0.15
R_GOAL = 0.99


def _line(label: str, mode: str, m: dict) -> dict:
    """The table's columns, and (JSON only) what a post-mortem of an unstable or off profile needs:
    the spread of its times and its memory beside the steady peak."""
    return {"label": label, "mode": mode, "ms": m.get("median_ms"), "n": m.get("n"), "stop": m.get("stop_reason"),
            "stable": m.get("stable"), "warmup_ms": m.get("warmup_ms"), "predicted": m.get("predicted_memory_bytes"),
            "measured": m.get("peak_memory_bytes"), "ratio": m.get("memory_ratio"),
            "rel_ci": m.get("rel_ci"), "drift": m.get("drift"), "p10_ms": m.get("p10_ms"), "p90_ms": m.get("p90_ms"),
            "warmup_iters": m.get("warmup_iters"), "warmup_stop": m.get("warmup_stop"),
            "warmup_peak": m.get("warmup_peak_memory_bytes"), "baseline": m.get("baseline_memory_bytes")}


def profile_lines(entries: list[dict]) -> list[dict]:
    """One line per (profile, mode), the CUDA-graph replay as a mode of its own; failures too."""
    lines = []
    for e in entries:
        rec = e["record"]
        if rec["status"] != "finished":
            lines.append({"label": e["label"], "mode": "-", "error": (rec.get("error") or {}).get("message", rec["status"])})
            continue
        for mode in MODES:
            m = rec["result"].get(mode)
            if m:
                lines.append(_line(e["label"], mode, m))
                if m.get("graph"):
                    lines.append(_line(e["label"], "inference (graph)", m["graph"]))
    return lines


def _gb(n) -> str:
    return f"{n / 1e9:.2f}" if n else "-"


def _f(value, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def print_table(lines: list[dict]) -> None:
    head = (f"{'profile':44} {'mode':17} {'median ms':>10} {'n':>5} {'stop':>9} {'stable':>6} {'warm-up ms':>10} "
            f"{'mem pred GB':>11} {'mem meas GB':>11} {'meas/pred':>9}")
    print(head)
    print("-" * len(head))
    for x in lines:
        if "error" in x:
            print(f"{x['label'][:44]:44} failed: {x['error'][:120]}")
            continue
        print(f"{x['label'][:44]:44} {x['mode']:17} {_f(x['ms'], '10.3f')} {_f(x['n'], '5d')} {x['stop'] or '-':>9} "
              f"{'yes' if x['stable'] else 'NO':>6} {_f(x['warmup_ms'], '10.0f')} {_gb(x['predicted']):>11} "
              f"{_gb(x['measured']):>11} {_f(x['ratio'], '9.3f')}")


def _r_all(rows: list[dict]) -> dict:
    """r over every distinct model, stable or not (beside the analysis's stable-only r)."""
    out = {}
    for mode in MODES:
        models = distinct_models([r for r in rows if r.get("status") == "finished"], mode)
        out[mode] = {m: pearson([x[m] for x in models], [x["ms"] for x in models]) for m in METRICS}
    return out


def _spread(entries: list[dict]) -> dict:
    out = {}
    for mode in MODES:
        ms = [e["record"]["result"][mode]["median_ms"] for e in entries
              if e["record"]["status"] == "finished" and mode in e["record"]["result"]]
        out[mode] = max(ms) / min(ms) - 1 if len(ms) >= 2 else None
    return out


def _memory(lines: list[dict]) -> dict:
    out = {}
    for mode in MODES:
        ratios = [x["ratio"] for x in lines if x.get("mode") == mode and x.get("ratio") is not None]
        out[mode] = {"min": min(ratios), "max": max(ratios), "n": len(ratios)} if ratios else None
    return out


def _sweep_stable(entries: list[dict]) -> dict:
    def ok(rec: dict) -> bool:
        return rec["status"] == "finished" and all(
            rec["result"][m]["stable"] and rec["result"][m]["n"] >= MIN_N for m in MODES if m in rec["result"])

    return {"stable": sum(ok(e["record"]) for e in entries), "total": len(entries)}


def summarize(state: dict, sweep_entries: list[dict], repeat_entries: list[dict], lines: list[dict]) -> dict:
    analysis = state.get("analysis", {})
    return {"pearson_stable": analysis.get("pearson", {}), "points": analysis.get("points", {}),
            "pearson_all_distinct": _r_all(state["rows"]), "repeat_spread": _spread(repeat_entries),
            "memory_ratio": _memory(lines), "sweep_stable": _sweep_stable(sweep_entries)}


def _pct(x) -> str:
    return "-" if x is None else f"{100 * x:.2f} %"


def goals(s: dict) -> list[dict]:
    """PASS/FAIL per goal of issue #10; None where it cannot be checked here (memory on CPU)."""
    st = s["sweep_stable"]
    spread = s["repeat_spread"]
    r_acts = {m: (s["pearson_stable"].get(m) or {}).get("acts") for m in MODES}
    mem = [v for v in s["memory_ratio"].values() if v]
    return [
        {"goal": f"every sweep profile stable with n >= {MIN_N}, both modes", "pass": st["stable"] == st["total"] > 0,
         "detail": f"{st['stable']} of {st['total']}"},
        {"goal": "repeat spread <= 0.5 %", "pass": all(v is not None and v <= SPREAD_GOAL for v in spread.values()),
         "detail": ", ".join(f"{m} {_pct(v)}" for m, v in spread.items())},
        {"goal": "memory predicted vs measured within +-15 %",
         "pass": all(1 - MEMORY_GOAL <= v["min"] and v["max"] <= 1 + MEMORY_GOAL for v in mem) if mem else None,
         "detail": ", ".join(f"{m} {v['min']:.3f}..{v['max']:.3f} (n={v['n']})" for m, v in s["memory_ratio"].items() if v)
         or "no peak memory measured (CPU)"},
        {"goal": "r(time, acts) >= 0.99 over distinct models, both modes",
         "pass": all(v is not None and v >= R_GOAL for v in r_acts.values()),
         "detail": ", ".join(f"{m} {_f(v, '.3f')}" for m, v in r_acts.items())},
    ]


def print_summary(s: dict, checks: list[dict], informational: bool) -> None:
    for mode in MODES:
        pts = s["points"].get(mode, {})
        stable = s["pearson_stable"].get(mode) or {}
        every = s["pearson_all_distinct"].get(mode) or {}
        print(f"{mode:9}: r over {pts.get('stable', 0)} stable of {pts.get('distinct', 0)} distinct models: "
              + "  ".join(f"{m} {_f(stable.get(m), '.3f')}" for m in METRICS)
              + " | over all distinct: " + "  ".join(f"{m} {_f(every.get(m), '.3f')}" for m in METRICS))
    print("repeat spread: " + ", ".join(f"{m} {_pct(v)}" for m, v in s["repeat_spread"].items()))
    print("memory meas/pred: " + (", ".join(f"{m} {v['min']:.3f}..{v['max']:.3f}" for m, v in s["memory_ratio"].items()
                                            if v) or "not measured"))
    print(f"sweep profiles stable with n >= {MIN_N} in both modes: {s['sweep_stable']['stable']} of "
          f"{s['sweep_stable']['total']}")
    suffix = " (informational: smoke mode)" if informational else ""
    for g in checks:
        verdict = "n/a " if g["pass"] is None else ("PASS" if g["pass"] else "FAIL")
        print(f"{verdict} {g['goal']}: {g['detail']}{suffix}")
