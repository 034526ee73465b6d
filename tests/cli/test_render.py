"""What the CLI prints for sweeps and recommendations: every time with its n, unstable ones marked,
and the analysis saying what it left out or that it could not conclude (issue #10, req 4)."""

from __future__ import annotations

from cli.render import console, print_recommendation, print_sweep
from fastscale.prediction.analysis import analyse


def row(strategy: str, factor: float, ms: float, stable: bool, n: int) -> dict:
    return {"strategy": strategy, "alpha": None, "factor": factor, "label": strategy, "profile_id": f"{strategy}{factor}",
            "status": "finished", "flops": factor * 1e9, "params": factor * 1e6, "acts": factor * 1e6,
            "training_ms": ms, "training_stable": stable, "training_n": n}


def printed(fn, *args) -> str:
    width, console.width = console.width, 200  # one line per row, however narrow the terminal
    try:
        with console.capture() as cap:
            fn(*args)
        return cap.get()
    finally:
        console.width = width


def test_sweep_table_shows_n_and_marks_unstable_times():
    rows = [row("w", 1, 10.0, True, 40), row("w", 2, 20.0, True, 35), row("w", 4, 40.0, True, 12),
            row("w", 8, 5.0, False, 3)]
    state = {"rows": rows, "analysis": analyse(rows),
             "measurement": {"device": "NVIDIA H200", "device_class": "cuda-nvidia-h200", "batch_size": 64,
                             "dtype": "float32", "time_budget_s": 10.0}}
    out = printed(print_sweep, state)
    assert "10.00 (n=40)" in out and "5.00 (n=3) unstable" in out
    assert "NVIDIA H200" in out and "batch 64" in out and "float32" in out
    assert "3 stable of 4 distinct models" in out and "left out as unstable: w 8x" in out
    assert "acts 1.000" in out  # r over the three stable points only


def test_sweep_without_enough_stable_points_says_there_is_no_correlation():
    rows = [row("w", f, 10.0 * f, False, 2) for f in (1, 2, 4)]
    out = printed(print_sweep, {"rows": rows, "analysis": analyse(rows)})
    assert "no correlation" in out and "Pearson r" not in out and "measure again" in out


def test_recommendation_table_shows_budgets_stability_and_the_note():
    evidence = [{"strategy": s, "factor": 2.0, "flops": 8e8, "status": "finished", "training_ms": ms,
                 "training_stable": stable, "training_n": n, "time_budget_s": b}
                for s, ms, stable, n, b in (("d", 5.0, False, 10, 40.0), ("dWr", 12.0, True, 25, 10.0))]
    state = {"evidence": evidence, "chosen": {**evidence[1], "why": "lowest stable training time"},
             "note": "decided among the 1 candidates measured stably; left out: d (unstable)"}
    out = printed(print_recommendation, state, "training")
    assert "5.00 (n=10) unstable" in out and "12.00 (n=25)" in out and "40" in out
    assert "chosen: dWr" in out and "d (unstable)" in out
