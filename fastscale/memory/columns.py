"""The memory model's per-op sums in bulk: a trace's op fields as int64 columns, so that each
``POST /plan`` costs a few dozen numpy operations instead of a Python loop over every op.

``peaks`` and ``overhead`` say what is counted, op by op, and stay the reference: the functions
here give exactly their figures (tests/core/memory/test_memory_columns.py holds them equal on random
specs), in the same order. A trace whose figures could pass int64 at the batch asked for (only
specs far beyond the zoo, at batches in the millions) is left to that reference.

A trace's table is built from the tables of its parts: the network children it replayed or
recorded (``fastscale.layers.trace.Segments``) each keep theirs here (SEGMENT_TABLES), so a network not
seen before costs a concatenation of known pieces rather than a read of every op's every field.

The training walk's shape does not depend on the batch or dtype: per op, the start and end of
the segment it repeats in (a stage's repeated block, or the op alone) and, for each candidate,
which op and which copy it stands for. What each op allocates does, but linearly, so the saved
set before any candidate is a difference of prefix sums.
"""

from __future__ import annotations

import threading
from dataclasses import fields
from itertools import chain
from operator import attrgetter

import numpy as np

from fastscale.layers.trace import Op
from fastscale.memory.constants import ACT_COPIES, FFT_DTYPES, FFT_FLOATS_PER_PLANE, IN_PLACE
from fastscale.memory.dtypes import F32, I64, act_bytes, autocast

FIELDS = tuple(f.name for f in fields(Op) if f.name != "kind")
_COL = {name: i for i, name in enumerate(FIELDS)}
INT64_LIMIT = 1 << 63
CONV, LOSS, IN_PLACE_KIND = 1, 2, 3  # op kind codes (0: any other)
SEGMENT_TABLES: dict[int, tuple] = {}  # id(segment) -> (segment, table, kind codes)
MAX_SEGMENT_TABLES = 4096  # as many as fastscale.layers.trace.Segments keeps


def _table(ops) -> tuple[np.ndarray, np.ndarray]:
    """(int64 field table, kind codes) of ``ops``; OverflowError when a field passes int64."""
    rows = chain.from_iterable(map(attrgetter(*FIELDS), ops))
    table = np.fromiter(rows, dtype=np.int64, count=len(ops) * len(FIELDS)).reshape(len(ops), len(FIELDS))
    codes = np.array([CONV if op.kind == "conv" else LOSS if op.kind == "loss" else
                      IN_PLACE_KIND if op.kind in IN_PLACE else 0 for op in ops], dtype=np.int8)
    return table, codes


def _segment_table(segment) -> tuple[np.ndarray, np.ndarray]:
    known = SEGMENT_TABLES.get(id(segment))
    if known is not None and known[0] is segment:
        return known[1], known[2]
    table, codes = _table(segment.ops)
    if len(SEGMENT_TABLES) >= MAX_SEGMENT_TABLES:
        SEGMENT_TABLES.clear()
    SEGMENT_TABLES[id(segment)] = (segment, table, codes)  # the entry keeps the segment, so its id
    return table, codes


def trace_table(trace) -> tuple[np.ndarray, np.ndarray]:
    """The trace's (field table, kind codes): its parts' kept tables, its other ops read here."""
    tables, at, ops = [], 0, trace.ops
    for start, segment in trace.parts:
        if start > at:
            tables.append(_table(ops[at:start]))
        tables.append(_segment_table(segment))
        at = start + len(segment.ops)
    if at < len(ops) or not tables:
        tables.append(_table(ops[at:]))
    return np.concatenate([t for t, _ in tables]), np.concatenate([c for _, c in tables])


class Columns:
    """One trace's op fields (``table[:, _COL[name]]``), counts, and training walk order."""

    ANSWERS = 16  # memory objects kept per trace (distinct batch size, dtype, layout, device)

    def __init__(self, trace):
        ops = trace.ops
        self.answers: dict[tuple, dict] = {}
        self._lock = threading.Lock()
        self.counts = np.array(trace.counts, dtype=np.int64)
        try:
            self.table, codes = trace_table(trace)
        except OverflowError:  # a field past int64: the reference walks it
            self.table, self.scale = None, float("inf")
            return
        self.conv, self.loss, self.in_place = codes == CONV, codes == LOSS, codes == IN_PLACE_KIND
        # An upper bound on any figure per unit of (8 * batch + 2304): see ``safe``.
        self.scale = float(np.abs(self.table.astype(np.float64)).sum(axis=1) @ self.counts.astype(np.float64))
        self._walk(len(ops), trace.groups)

    def _walk(self, m: int, groups) -> None:
        """Segment bounds per op and the (op, copy) of every training candidate, in walk order:
        ops one by one, except that a repeated block is walked at its first and last copy."""
        self.start, self.stop = np.arange(m), np.arange(1, m + 1)
        order, copies, done = [], [], 0
        for first, end, times in sorted(groups):
            self.start[first:end], self.stop[first:end] = first, end
            for lo, hi, copy in ((done, first, 0), (first, end, 0)) + (((first, end, times - 1),) if times > 1 else ()):
                order.append(np.arange(lo, hi))
                copies.append(np.full(hi - lo, copy))
            done = end
        order.append(np.arange(done, m))
        copies.append(np.zeros(m - done, dtype=np.int64))
        self.order, self.copy = np.concatenate(order), np.concatenate(copies)

    def remember(self, settings: tuple, answer: dict) -> None:
        """Keep ``predict_memory``'s answer for these settings (oldest out past ANSWERS)."""
        with self._lock:  # planning threads share traces
            if len(self.answers) >= self.ANSWERS:
                self.answers.pop(next(iter(self.answers)))
            self.answers[settings] = answer

    def safe(self, batch: int) -> bool:
        """Whether every figure at ``batch`` stays well inside int64 (and floats stay exact)."""
        return self.table is not None and (8 * batch + 2304) * self.scale * 4 < INT64_LIMIT

    def col(self, name: str) -> np.ndarray:
        return self.table[:, _COL[name]]

    def total(self, name: str) -> int:
        return int(self.col(name) @ self.counts)

    def scratch(self, batch: int, dtype: str, device: str) -> np.ndarray:
        """``overhead.scratch_fn`` per op."""
        if device == "cuda":
            return np.zeros(len(self.counts), dtype=np.int64)
        return np.where(self.conv, batch * act_bytes(dtype) * np.maximum(self.col("reads"), self.col("writes")), 0)

    def workspace(self, batch: int, dtype: str, channels_last: bool, device: str) -> np.ndarray:
        """``overhead.workspace_fn`` per op (the same float operations, then truncation)."""
        if device != "cuda":
            return np.zeros(len(self.counts), dtype=np.int64)
        transform = ACT_COPIES * F32 * batch * self.col("workspace").astype(np.float64)
        if not channels_last and dtype in FFT_DTYPES:
            transform = np.maximum(transform, (FFT_FLOATS_PER_PLANE * F32 * self.col("planes")).astype(np.float64))
        return transform.astype(np.int64)

    def saved_bytes(self, batch: int, dtype: str) -> int:
        """``saved_activation_bytes``: Σ ``peaks.saved_bytes`` over the forward pass."""
        ab, c = act_bytes(dtype), self.col
        per_sample = c("saved") * ab + c("saved_f32") * F32 + c("saved_i64") * I64 + c("saved_input") * ab
        fixed = (c("saved_stats") + c("saved_buffers")) * F32 + (c("saved_casts") * ab if autocast(dtype) else 0)
        return int((batch * per_sample + fixed) @ self.counts)

    def inference(self, batch: int, dtype: str, scratch: np.ndarray) -> np.ndarray:
        """``peaks.inference_candidates``."""
        ab, c = act_bytes(dtype), self.col
        live = batch * (c("live") * ab + c("live_i64") * I64) + scratch
        return live + batch * c("saved_input") * ab if autocast(dtype) else live

    def training(self, batch: int, dtype: str, scratch: np.ndarray) -> np.ndarray:
        """``peaks.training_candidates``: (forward, backward) per walk entry, flattened."""
        ab, low, c = act_bytes(dtype), autocast(dtype), self.col
        new = batch * (c("saved") * ab + c("saved_f32") * F32 + c("saved_i64") * I64) + c("saved_stats") * F32
        if low:
            new = new + batch * c("saved_input") * ab + c("saved_casts") * ab
        new = new - np.where(self.loss, batch * I64, 0)
        grad = F32 * c("weights")
        forward = batch * ab * np.where(self.in_place, 0, c("writes")) + scratch
        backward = batch * ab * c("grads") + (c("weights") * ab if low else 0) + scratch
        s, g = self._running(new, self.order), self._running(grad, self.order - 1)
        j = self.order
        return np.stack([s + forward[j], s + (int(grad @ self.counts) - g) + backward[j]], axis=1).ravel()

    def _running(self, per_op: np.ndarray, upto: np.ndarray) -> np.ndarray:
        """Per walk entry: the sum of ``per_op`` over every op before its segment (times its
        count), ``copy`` whole copies of its segment, and its segment's ops up to ``upto``."""
        once = np.concatenate([[0], np.cumsum(per_op)])
        counted = np.concatenate([[0], np.cumsum(per_op * self.counts)])
        st, sp = self.start[self.order], self.stop[self.order]
        return counted[st] + self.copy * (once[sp] - once[st]) + (once[upto + 1] - once[st])

    def candidate_ops(self, mode: str) -> np.ndarray:
        return np.arange(len(self.counts)) if mode == "inference" else np.repeat(self.order, 2)
