"""The trace of an architecture at a resolution, memoised, and its totals over a forward pass.

Tracing is a separate walk from ``complexity`` (which the planner calls thousands of times per
plan), so the planner never pays for it; the memory model and runtime features share one trace.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from functools import cached_property, lru_cache

from fastscale.layers.trace import Op, Segments, Tracer
from fastscale.memory.columns import Columns

SUMMED = tuple(f.name for f in fields(Op) if f.name not in ("kind", "live", "live_i64", "grads", "workspace", "group_in"))


@dataclass(frozen=True)
class Trace:
    ops: tuple  # Op, in forward order (a Repeat's block once)
    counts: tuple  # how many times each op runs per forward pass
    groups: tuple  # (start, stop, times)
    modules: int
    param_tensors: int
    buffer_tensors: int
    buffer_elems: int
    classes: int
    parts: tuple = field(default=(), compare=False, repr=False)  # (first op, Segment): see Columns
    has_attention: bool = False  # whether the attention kernel changes anything

    def total(self, name: str) -> int:
        """Sum of an Op field over the whole forward pass (repeated blocks included)."""
        if self.columns.safe(0):
            return self.columns.total(name)
        return sum(getattr(op, name) * n for op, n in zip(self.ops, self.counts))

    @cached_property
    def columns(self):
        """The op fields as int64 columns (``fastscale.memory.columns``), made on first use."""
        return Columns(self)


SEGMENTS = Segments()  # the network children every trace of this process has walked


@lru_cache(maxsize=256)
def trace(arch, resolution: int, attention: str = "math") -> Trace:
    """Trace ``arch``'s network at ``resolution``, then the cross-entropy loss the profiler adds.
    ``attention``: the kernel whose saved set attention layers record (``layers.attention``)."""
    tr = Tracer.start(resolution, SEGMENTS, attention)
    arch.network().trace(tr)
    logits = tr.cur
    # log-softmax saves its float32 output, nll_loss saves the int64 targets and a float32 scalar
    # (its total weight); under autocast the logits are cast to float32 first.
    tr.op("loss", (logits,), (), saved_f32=logits.elems, saved_i64=1, saved_stats=1, saved_tensors=3,
          casts=1, kernels_fwd=2, kernels_bwd=2)
    return Trace(tuple(tr.ops), tuple(tr.multiplicities()), tuple(tr.groups), tr.modules, tr.param_tensors,
                 tr.buffer_tensors, tr.buffer_elems, logits.elems, tuple(tr.parts),
                 any(op.kind in ("matmul", "sdpa") for op in tr.ops))
