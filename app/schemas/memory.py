"""The ``memory`` object of POST /plan (and ``fastscale plan --json``): the analytic memory model's
prediction (fastscale.memory.predict_memory) for the request's profile settings."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

OPEN = ConfigDict(extra="allow")


class ModeMemory(BaseModel):
    """One mode's predicted memory, and the parts it is made of (bytes)."""

    model_config = OPEN
    predicted_bytes: int = Field(description=(
        "The steady peak the profiler measures step after step: cuda, max_memory_allocated over the timed "
        "iterations after warm-up (required_bytes plus cuBLAS workspaces); cpu, the worker process's memory "
        "growth."))
    required_bytes: int = Field(description=(
        "What must fit for one step to run: activations, persistent tensors and allocator rounding. The "
        "memory guard of POST /scale compares this with the device."))
    activation_bytes: int = Field(description="The activation peak alone (saved set and transients, or eval's live set).")
    persistent_bytes: int = Field(description="Weights, gradients, optimizer state, copies and the input batch.")
    workspace_bytes: int = Field(description=(
        "cuDNN's benchmark workspace at the peak op (0 on cpu): a rough estimate of what a network's first "
        "steps in a worker take on top of predicted_bytes, once, while cuDNN autotunes new shapes."))
    blas_workspace_bytes: int = Field(0, description=(
        "cuBLAS workspaces held through the mode (cuda: 32 MiB per thread that runs a matmul; 0 on cpu), "
        "part of predicted_bytes."))
    overhead_bytes: int = Field(description="Allocator rounding (cuda) or host objects (cpu).")
    host_overhead_bytes: int = Field(description="Host-side objects of the worker process.")


class TrainingMemory(ModeMemory):
    saved_activation_bytes: int = Field(description=(
        "Unique non-parameter tensors autograd saves for backward in one training forward."))


class Memory(BaseModel):
    """Predicted peak memory of eval inference and of one training step (SGD with momentum)."""

    model_config = OPEN
    batch_size: int
    dtype: Literal["float32", "bfloat16", "float16"]
    channels_last: bool
    device: Literal["cuda", "cpu"]
    attention_kernel: Literal["math", "flash", "efficient", "cudnn"] | None = Field(None, description=(
        "The attention kernel whose saved tensors are modelled (networks with attention only): math on cpu "
        "(the explicit path); on cuda efficient in float32, flash in 16-bit dtypes; a worker's result names the one "
        "it ran."))
    inference: ModeMemory
    training: TrainingMemory
