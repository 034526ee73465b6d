"""Whether this host's torch survives a CPU training step in a 16-bit dtype and channels_last,
asked once per worker process in a child process, before a job runs such a step.

Why: torch 2.14.1 (the CUDA build, run on the CPU) on an AVX512-BF16 AMD EPYC corrupts the heap in
the backward of a strided 1x1 convolution under bfloat16 autocast in channels_last (the projection
shortcut of every ResNet and RegNet). The worker died of SIGABRT, SIGSEGV or SIGILL mid-job, its
supervisor restarted it, and the job was handed on until it failed as "worker lost" three times
over (seen 2026-12-05 in `bench/gpu_e2e.py --smoke`; fp32, contiguous bf16, 3x3 strided and 1x1
unstrided convolutions were all sound). A crash cannot be caught in the process that has it, so a
child runs the smallest such step first; if the child dies of a signal the job is refused with
the reason and the fields to change, and the worker lives on. Any other outcome of the child (an
error, a timeout) says nothing about the kernel and lets the job run.
"""

from __future__ import annotations

import functools
import signal
import subprocess
import sys

import torch

# The kernel that crashed, a few steps of it (heap corruption may show only on a later free).
_STEP = r"""
import sys, torch
dtype = getattr(torch, sys.argv[1])
conv = torch.nn.Conv2d(8, 24, 1, stride=2, bias=False).to(memory_format=torch.channels_last)
for _ in range(10):
    x = torch.randn(2, 8, 112, 112).to(memory_format=torch.channels_last).requires_grad_()
    with torch.autocast("cpu", dtype=dtype):
        y = conv(x)
    y.float().sum().backward()
"""


class UnsoundKernel(RuntimeError):
    """This worker's torch crashes in the step the job asks for; refused before it runs."""


@functools.lru_cache(maxsize=None)
def crash_signal(dtype: str) -> str | None:
    """The signal that killed the probe child for ``dtype`` in channels_last (None: it survived)."""
    return child_signal(_STEP, dtype)


def child_signal(code: str, *args: str, timeout_s: float = 120.0) -> str | None:
    """Run ``code`` in a fresh interpreter; the name of the signal it died of, or None."""
    try:
        proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return None
    if proc.returncode >= 0:
        return None
    try:
        return signal.Signals(-proc.returncode).name
    except ValueError:
        return f"signal {-proc.returncode}"


def refuse_unsound_step(device: torch.device, dtype: str, channels_last: bool, mode: str) -> None:
    """Raise UnsoundKernel for a CPU training step in a 16-bit dtype and channels_last that the
    probe child did not survive; anything else passes without a probe."""
    if device.type != "cpu" or mode != "training" or not channels_last or dtype == "float32":
        return
    died = crash_signal(dtype)
    if died:
        raise UnsoundKernel(
            f"this CPU worker's torch {torch.__version__} crashes in a {dtype} channels_last training step "
            f"(a probe process running a strided 1x1 convolution's backward died of {died}); profile "
            "training on this CPU with profile.channels_last=false or profile.dtype=float32, or on a GPU")
