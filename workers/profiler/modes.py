"""The steps that are timed: inference (eval, no_grad), inference as a CUDA graph replay, and a
training step (forward, cross-entropy, backward, SGD-momentum step, in train mode).

Training restores the model's weights and BatchNorm statistics afterwards, so the modes do not
affect each other or a later profile. ``fits`` runs one step at a batch size to see whether it
fits in memory (the largest-batch search).
"""

from __future__ import annotations

import contextlib
import copy

import torch
import torch.nn.functional as F

from workers.profiler.config import DTYPES, ProfileConfig, Progress
from workers.profiler.memory import is_oom, release_memory
from workers.profiler.timing import measure


def autocast(device: torch.device, dtype: str):
    if dtype == "float32":
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=DTYPES[dtype])


def random_batch(cfg: ProfileConfig, batch: int, resolution: int, device: torch.device) -> tuple:
    """Random images and labels: never zeros, which hide wrong indexing and can run faster."""
    x = torch.randn(batch, 3, resolution, resolution, device=device).to(memory_format=cfg.memory_format)
    y = torch.randint(0, cfg.num_classes, (batch,), device=device)
    return x, y


def profile_inference(model, x, device, cfg: ProfileConfig, progress: Progress) -> dict:
    model.eval()

    def step() -> None:
        with torch.no_grad(), autocast(device, cfg.dtype):
            model(x)

    out = measure(step, device, cfg, progress, "inference")
    if cfg.cuda_graphs and device.type == "cuda":
        out["graph"] = profile_inference_graph(model, x, device, cfg, progress)
    return out


def profile_inference_graph(model, x, device, cfg: ProfileConfig, progress: Progress) -> dict:
    """The same forward captured once as a CUDA graph and timed as replays (no launch overhead)."""
    static_x = x.clone()
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream), torch.no_grad(), autocast(device, cfg.dtype):
        for _ in range(3):
            model(static_x)
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph), torch.no_grad(), autocast(device, cfg.dtype):
        model(static_x)
    try:
        return measure(graph.replay, device, cfg, progress, "inference (CUDA graph)")
    finally:
        del graph


def profile_training(model, x, y, device, cfg: ProfileConfig, progress: Progress) -> dict:
    saved = copy.deepcopy(model.state_dict())  # weights and BatchNorm running statistics
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=1e-6, momentum=0.9)
    scaler = torch.amp.GradScaler(device.type, enabled=cfg.dtype == "float16")

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        with autocast(device, cfg.dtype):
            loss = F.cross_entropy(model(x), y)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()

    try:
        return measure(step, device, cfg, progress, "training")
    finally:
        model.load_state_dict(saved)
        model.zero_grad(set_to_none=True)


def _one_step(model, x, y, device, cfg: ProfileConfig, mode: str) -> None:
    if mode == "inference":
        model.eval()
        with torch.no_grad(), autocast(device, cfg.dtype):
            model(x)
        return
    saved = copy.deepcopy(model.state_dict())
    model.train()
    with autocast(device, cfg.dtype):
        F.cross_entropy(model(x), y).backward()
    model.zero_grad(set_to_none=True)
    model.load_state_dict(saved)


def fits(model, resolution: int, device, cfg: ProfileConfig, mode: str, batch: int) -> bool:
    """One step of ``mode`` at ``batch``: True if it runs, False on out-of-memory."""
    x = y = None
    try:
        x, y = random_batch(cfg, batch, resolution, device)
        _one_step(model, x, y, device, cfg, mode)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        return True
    except Exception as exc:  # noqa: BLE001
        if not is_oom(exc):
            raise
        return False
    finally:
        del x, y
        model.zero_grad(set_to_none=True)
        release_memory(device)
