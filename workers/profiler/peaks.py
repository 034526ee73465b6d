"""Peak device memory of one timed step, split where warm-up ends.

With ``cudnn.benchmark`` the first iterations of a new conv shape try every cuDNN engine, each
with its own workspace, and the largest of those workspaces is allocated for the trial. That
peak happens once per shape per process: measured on an H200 (issue #10's gpu_e2e), the same
EfficientNet-B0 profile peaked at 1.37 GB in eval when its shapes were new to the worker and at
0.87 GB when they were not, and the memory model's ratio to it ranged 0.47..1.83 over 24 points
for that reason alone. So the figure reported as ``peak_memory_bytes`` is the steady state: the
allocator's peak over the timed iterations, after warm-up (and with it the autotuning) is over.
That is what a training job holds step after step, and it is the same on every re-measurement.
The autotuning peak is kept beside it (``warmup_peak_memory_bytes``), as is what the mode held
before its first step (``baseline_memory_bytes``: weights, the input batch, anything a previous
profile left behind).

cuBLAS keeps a workspace per thread and stream for as long as the process lives; which ones
exist depends on what ran before (a training step adds one for autograd's thread). Each mode
frees them first (``free_blas_workspaces``), so its steady peak holds exactly those it makes
itself, the same whatever was profiled before it (fastscale.memory.overhead counts them).
"""

from __future__ import annotations

import torch


def free_blas_workspaces(device: torch.device) -> None:
    """Free cuBLAS's cached workspaces (PyTorch reallocates them at the next matmul). Not while a
    captured CUDA graph may still replay: call it between modes, never inside one."""
    clear = getattr(torch._C, "_cuda_clearCublasWorkspaces", None)
    if device.type == "cuda" and clear is not None:
        torch.cuda.synchronize(device)
        clear()


class PeakMeter:
    """``max_memory_allocated`` read at the end of warm-up, then reset for the timed phase (CUDA
    only; on other devices every figure is None)."""

    def __init__(self, device: torch.device):
        self.device = device
        self.cuda = device.type == "cuda"
        self.baseline = self.warmup_peak = None

    def start(self) -> None:
        if self.cuda:
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self.baseline = torch.cuda.memory_allocated(self.device)

    def warmed_up(self) -> None:
        """Warm-up is over: keep its peak, and count the timed iterations' peak from here."""
        if self.cuda:
            torch.cuda.synchronize(self.device)
            self.warmup_peak = torch.cuda.max_memory_allocated(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)

    def read(self) -> dict:
        """The figures of the mode, once its timed iterations ran."""
        if not self.cuda:
            return {"peak_memory_bytes": None, "peak_reserved_bytes": None, "warmup_peak_memory_bytes": None,
                    "baseline_memory_bytes": None}
        torch.cuda.synchronize(self.device)
        steady = torch.cuda.max_memory_allocated(self.device)
        return {"peak_memory_bytes": steady, "peak_reserved_bytes": torch.cuda.max_memory_reserved(self.device),
                "warmup_peak_memory_bytes": max(steady, self.warmup_peak or 0),
                "baseline_memory_bytes": self.baseline}
