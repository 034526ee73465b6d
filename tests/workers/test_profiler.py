"""The profiler's method: statistics, stopping rules, restored state, OOM, bisection (real torch, CPU)."""

from __future__ import annotations

import random
import statistics
import subprocess
import sys

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from fastscale.prediction.analysis import pearson
from fastscale.build.builder import build_plan
from fastscale.planning.planner import make_plan
from tests.service_helpers import ROOT, TINY_SPEC
from workers.profiler import ProfileConfig, largest_batch, profile_model
from workers.stats import median_ci95, percentile

CPU = torch.device("cpu")


def test_percentiles_match_the_textbook_definition():
    xs = sorted(random.Random(1).random() for _ in range(101))
    assert percentile(xs, 50) == statistics.median(xs)
    assert percentile(xs, 10) == pytest.approx(xs[10]) and percentile(xs, 90) == pytest.approx(xs[90])


def test_median_ci95_covers_the_true_median_about_95_percent_of_the_time():
    rng = random.Random(7)
    hits, trials = 0, 400
    for _ in range(trials):
        xs = sorted(rng.lognormvariate(0, 0.5) for _ in range(60))  # skewed, true median 1.0
        lo, hi = median_ci95(xs)
        hits += lo <= 1.0 <= hi
    assert 0.90 <= hits / trials <= 0.995


def test_pearson():
    assert pearson([1, 2, 3], [2, 4, 6]) == pytest.approx(1.0)
    assert pearson([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)


def test_profile_restores_weights_and_batchnorm_statistics_and_reports_settings():
    plan = make_plan(spec=TINY_SPEC, factor=1)
    model = build_plan(plan)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    out = profile_model(model, plan.resolution, CPU, ProfileConfig(batch_size=2, time_budget_s=0.3, dtype="bfloat16"))
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert 5e-324 > 0  # the process-wide flush-denormal mode was restored after profiling
    for mode in ("inference", "training"):
        assert set(out[mode]) >= {"median_ms", "mean_ms", "p10_ms", "p90_ms", "ci95_low_ms", "ci95_high_ms", "n",
                                  "stable", "throughput_per_s", "warmup_iters", "warmup_ms",
                                  "stop_reason"}
    s = out["settings"]
    assert s["dtype"] == "bfloat16" and s["batch_size"] == 2 and "cudnn_benchmark" in s and "tf32_cudnn" in s
    assert out["device"]["kind"] == "cpu" and out["device"]["torch"] == torch.__version__


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 5000), st.integers(1, 300), st.integers(1, 6000))
def test_largest_batch_bisection(cap, lo, hi):
    calls = []

    def fits(b):
        calls.append(b)
        return b <= cap

    got = largest_batch(fits, lo, hi)
    expected = min(cap, hi) if min(cap, hi) >= 1 else 0
    assert got == expected
    assert len(calls) <= 2 * (hi.bit_length() + 2) + 2


OOM_SCRIPT = """
import resource, sys, torch
# 1.5 GiB more than torch's own mappings (a CUDA build of torch maps gigabytes on import alone).
vm = next(int(line.split()[1]) * 1024 for line in open("/proc/self/status") if line.startswith("VmSize:"))
resource.setrlimit(resource.RLIMIT_AS, (vm + 1536 * 2**20, resource.RLIM_INFINITY))
sys.path.insert(0, {root!r})
from fastscale.planning.planner import make_plan
from fastscale.build.builder import build_plan
from workers.profiler import ProfileConfig, ProfileOOM, profile_model
plan = make_plan(spec={spec!r}, factor=1)
model = build_plan(plan)
cfg = ProfileConfig(batch_size=2048, modes=("training",), time_budget_s=0.3, find_max_batch={find})
try:
    profile_model(model, plan.resolution, torch.device("cpu"), cfg)
    print("NO OOM")
except ProfileOOM as exc:
    print("OOM:", exc)
# The process goes on working after the OOM: memory was released.
small = ProfileConfig(batch_size=2, modes=("inference",), time_budget_s=0.2)
print("after:", profile_model(model, plan.resolution, torch.device("cpu"), small)["inference"]["n"] > 0)
"""


@pytest.mark.parametrize("find", [False, True])
def test_out_of_memory_is_caught_named_and_survived(find):
    code = OOM_SCRIPT.format(root=str(ROOT), spec=TINY_SPEC, find=find)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300).stdout
    assert "OOM: out of memory in training at batch size 2048" in out, out
    assert "asked" in out and "free of" in out and "smaller batch_size" in out
    if find:
        assert "the largest batch that fits is" in out
        best = int(out.split("the largest batch that fits is ")[1].split()[0].rstrip(";"))
        assert 2 <= best < 2048
    assert "after: True" in out


def test_profile_leaves_the_callers_config_as_given():
    plan = make_plan(spec=TINY_SPEC, factor=1)
    cfg = ProfileConfig(batch_size=2, modes=("inference",), time_budget_s=0.2)
    before = dict(vars(cfg))
    out = profile_model(build_plan(plan), plan.resolution, CPU, cfg)
    assert vars(cfg) == before and cfg.num_classes is None  # not filled in behind the caller's back
    assert out["settings"]["num_classes"] == TINY_SPEC["num_classes"]  # the value used is still reported
