"""What a profile holds beyond activations: persistent tensors, cuDNN workspace, allocator
rounding and per-module host overhead (bytes).

Persistent (the profiler's training step, workers/profiler.py): float32 parameters; their
gradients (set to None before each step, so they are counted as the backward pass creates them,
in ``peaks``); SGD's momentum buffers (float32 even under autocast); the deep copy of the state
dict the profiler takes to restore weights afterwards (parameters and buffers); the float32 input
batch and int64 targets. Eval inference: parameters, buffers, input, and under autocast the cached
low-precision copies of conv and linear weights (autocast caches casts of leaf parameters for the
whole forward).

cuDNN workspace. With ``cudnn.benchmark`` (the profiler's setting) PyTorch's algorithm search
(aten/src/ATen/native/cudnn/Conv_v8.cpp, generate_and_filter_plans) allocates one workspace as
large as the largest any candidate engine asks for, among engines whose request fits the largest
free block; on an idle GPU that is all of them. Two kinds of engine set the size:
- transform engines (Winograd, implicit-precomputed GEMM) stage the conv's input and output in
  the float32 compute type (cuDNN computes low-precision convs in float32): ``ACT_COPIES`` copies
  of (input + output) elements at 4 bytes, whatever the storage dtype;
- frequency-domain (FFT) engines transform every filter plane (input channel per group x output
  channel) into a padded tile, whatever the batch: ``FFT_FLOATS_PER_PLANE`` floats per plane.
  cuDNN offers FFT engines only for NCHW float32/float16 convs, so they count there alone.
Calibrated on the H200 points in tests/data/h200_memory.json (EfficientNet-B0 dWr 4x, batch 64):
fp32 training's peak is the saved set plus the head conv's FFT workspace; bf16 + channels_last
eval's peak is the first stride-2 depthwise conv's live tensors plus its transform workspace.
Each constant was fitted on one point and checked on another (the other mode of the same dtype).
The search runs once per conv shape and process (the chosen engine is cached), so this workspace
is a transient of a network's first steps: measured on the H200 (issue #10), the peak of a warm-up
that autotuned exceeded the steady peak by 0.9 to 4.6 GB, and a later profile of the same
network in the same worker did not see it at all. It is reported beside the steady peak
(``workspace_bytes``), not in it (``predicted_bytes``), and, because the search only takes what
is free, never in what must fit (``required_bytes``). As an estimate of that first-run excess it
is rough: over the seven H200 profiles of tests/data/h200_steady_memory.json that autotuned, the
measured warm-up peak was 1.00x to 1.77x the steady prediction plus this workspace (training
1.00x in all four; eval 1.03x to 1.77x).

cuBLAS workspace. cuBLAS keeps one workspace per handle and stream, and PyTorch keeps one
handle per thread: eval allocates one (the classifier's matmul, on the calling thread), a
training step two (its backward runs on autograd's device thread). They stay allocated for the
rest of the mode, so they are part of the steady peak. The size is PyTorch's default on sm90
(H100, H200): 32 MiB, measured on the H200 as the growth of the allocated baseline between two
profiles of one network (31.9 MiB). Older GPUs default to 8 MiB + 128 KiB, where this predicts
up to 24 MiB (eval) or 48 MiB (training) high. The profiler frees them before each mode
(workers/profiler/peaks.py), so a mode's count never depends on what ran before it.

Allocator rounding: the CUDA caching allocator hands out blocks in multiples of 512 bytes, at
least 512; ``ALLOC_ROUND`` per tensor bounds the waste (it matters only for tiny tensors, e.g. a
spec of 262k width-1 blocks, where it dominates).

Host overhead (CPU devices; reported separately for CUDA ones): Python and TensorImpl objects per
module, per parameter or buffer tensor, per state-dict copy of a tensor, per gradient/momentum
tensor, and per autograd node in training. Measured on this repo's CPU worker stack (CPython 3.11,
torch 2.13) as RSS slopes over 2000 vs 6000 width-1 blocks of three block types;
bench/memory_host_overhead.py prints measured against modelled slopes per block.
"""

from __future__ import annotations

from fastscale.memory.constants import ACT_COPIES, FFT_DTYPES, FFT_FLOATS_PER_PLANE
from fastscale.memory.dtypes import F32, I64, act_bytes, autocast
from fastscale.memory.walk import Trace

ALLOC_ROUND = 512
CUBLAS_WORKSPACE = 32 * 2**20  # bytes per cuBLAS handle and stream (PyTorch's sm90 default)
BLAS_HANDLES = {"inference": 1, "training": 2}  # the calling thread; training also autograd's

HOST_MODULE = 2100  # bytes per nn.Module object
HOST_TENSOR = 900  # per parameter or buffer tensor (object, TensorImpl, small storage)
HOST_COPY = 1800  # per tensor of the profiler's state-dict deep copy
HOST_OPTIM = 400  # per parameter tensor: its gradient and momentum buffer objects
HOST_NODE = 1700  # per op in training: autograd node, saved-variable records, output metadata


def scratch_fn(batch: int, dtype: str, device: str):
    """Bytes a conv needs beside its input and output, and must get. On CPU, oneDNN reorders the
    input into its blocked layout and computes into a blocked output before copying it out, so
    one more input- or output-sized buffer, whichever is larger, is live (torch.profiler's
    allocator events of single convs; bench/memory_cpu_check.py shows the whole-model effect).
    CUDA convs need nothing beyond the workspace below."""
    ab = act_bytes(dtype)
    if device == "cuda":
        return lambda op: 0
    return lambda op: batch * ab * max(op.reads, op.writes) if op.kind == "conv" else 0


def workspace_fn(batch: int, dtype: str, channels_last: bool, device: str):
    """Bytes of the benchmark workspace for an op (0 for anything but a conv on CUDA)."""
    if device != "cuda":
        return lambda op: 0
    fft = not channels_last and dtype in FFT_DTYPES

    def workspace(op) -> int:
        transform = ACT_COPIES * F32 * batch * op.workspace
        frequency = FFT_FLOATS_PER_PLANE * F32 * op.planes if fft else 0
        return int(max(transform, frequency))

    return workspace


def persistent_bytes(trace: Trace, resolution: int, batch: int, dtype: str, mode: str) -> int:
    weights = F32 * trace.total("weights")
    buffers = F32 * trace.buffer_elems
    inputs = F32 * batch * 3 * resolution * resolution
    if mode == "inference":
        casts = act_bytes(dtype) * trace.total("saved_casts") if autocast(dtype) else 0
        return weights + buffers + inputs + casts
    # parameters, momentum, and the state-dict copy (parameters and buffers); targets
    return 3 * weights + buffers + inputs + I64 * batch


def rounding_bytes(trace: Trace, dtype: str, mode: str, device: str) -> int:
    if device != "cuda":
        return 0
    tensors = trace.param_tensors + trace.buffer_tensors
    if mode == "training":
        # saved storages, plus each parameter's gradient, momentum and state-dict copy
        tensors += trace.total("saved_tensors") + 3 * trace.param_tensors + trace.buffer_tensors
    if autocast(dtype):
        tensors += trace.total("casts")
    return ALLOC_ROUND * tensors


def blas_workspace_bytes(trace: Trace, mode: str, device: str) -> int:
    """cuBLAS workspaces a mode holds at its peak: CUDA only, and only if a matmul runs."""
    if device != "cuda" or not any(op.kind in ("linear", "mm", "matmul") for op in trace.ops):
        return 0
    return CUBLAS_WORKSPACE * BLAS_HANDLES[mode]


def host_bytes(trace: Trace, mode: str) -> int:
    tensors = trace.param_tensors + trace.buffer_tensors
    total = HOST_MODULE * trace.modules + HOST_TENSOR * tensors
    if mode == "training":
        ops = sum(trace.counts)
        total += HOST_COPY * tensors + HOST_OPTIM * trace.param_tensors + HOST_NODE * ops
    return total
