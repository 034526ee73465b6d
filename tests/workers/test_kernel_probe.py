"""A CPU training step that this host's torch crashes in is refused before it runs, and the worker
lives on (workers/profiler/kernel_probe.py: torch 2.14.1 on an AVX512-BF16 EPYC aborts in the
backward of a strided 1x1 convolution under bfloat16 autocast in channels_last)."""

from __future__ import annotations

import pytest
import torch

from fastscale.build.builder import build_plan
from fastscale.planning.planner import make_plan
from tests.service_helpers import TINY_SPEC
from workers.profiler import ProfileConfig, UnsoundKernel, profile_model
from workers.profiler.kernel_probe import child_signal, crash_signal, refuse_unsound_step


def test_the_child_reports_the_signal_it_died_of_and_nothing_else():
    assert child_signal("import os, signal; os.kill(os.getpid(), signal.SIGABRT)") == "SIGABRT"
    assert child_signal("import os, signal; os.kill(os.getpid(), signal.SIGILL)") == "SIGILL"
    assert child_signal("pass") is None
    assert child_signal("raise SystemExit(3)") is None  # an error says nothing about a kernel
    assert child_signal("import time; time.sleep(30)", timeout_s=0.5) is None


@pytest.mark.parametrize("device, dtype, channels_last, mode", [
    ("cpu", "float32", True, "training"), ("cpu", "bfloat16", False, "training"),
    ("cpu", "bfloat16", True, "inference"), ("meta", "bfloat16", True, "training")])
def test_steps_outside_the_crashing_kind_are_never_probed(device, dtype, channels_last, mode):
    crash_signal.cache_clear()
    refuse_unsound_step(torch.device(device), dtype, channels_last, mode)
    assert crash_signal.cache_info().currsize == 0


def test_a_bf16_channels_last_training_profile_runs_or_is_refused_as_the_probe_says():
    """Whatever this CPU does: the profile finishes where the probe child survived, and is refused
    before any measurement, with the fields to change, where it died (this process lives on)."""
    plan = make_plan(spec=TINY_SPEC, strategy="w", factor=1.0)
    cfg = ProfileConfig(batch_size=2, modes=("inference", "training"), dtype="bfloat16", channels_last=True,
                        time_budget_s=0.2, warmup_cap_s=1, mode_cap_s=5, target_rel_ci=0.5)
    died = crash_signal("bfloat16")
    if died:
        with pytest.raises(UnsoundKernel, match=r"channels_last=false.*float32") as refused:
            profile_model(build_plan(plan), plan.resolution, torch.device("cpu"), cfg)
        assert died in str(refused.value)
    else:
        result = profile_model(build_plan(plan), plan.resolution, torch.device("cpu"), cfg)
        assert result["training"]["n"] >= 1
