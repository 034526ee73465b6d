"""Per-operation accounting walk (no torch): what each layer saves, keeps alive, moves and launches.

``Cx`` carries the three totals the planner needs and stays as cheap as it is; ``Tracer`` is the
separate, richer walk that the memory model and the runtime predictor use. Each layer's
``trace(tr)`` (beside its ``complexity(cx)``) records one ``Op`` per torch operation it runs,
in forward order, with counts per sample (batch 1) and in elements, so that one walk serves every
batch size and dtype: ``fastscale.memory`` turns elements into bytes.

Tensors are ``Ten`` objects whose identity stands for a storage, so that an activation saved by
two operations (a ReLU's output that the next conv saves as its input; a block input saved by the
main path's conv and by the projection) is counted once, as torch keeps it once.

``Repeat`` records a stage's identical blocks once and marks the ops as a group of ``times``
copies, so the walk stays O(stages), not O(blocks), even for specs with 100k-block stages.

``Segments`` remembers what each child of the network (the stem, a stage's first block, a stage's
repeated blocks, the head) recorded, by the child (its identity) and everything it read of the
walk's state.
Networks a plan's neighbours round to share most of their blocks, and the memory of a network
not seen before (a third of distinct POST /plan requests) was ~2 ms, most of it this walk: a
child found again is replayed (its ops appended as they are) instead of walked.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any


@dataclass(eq=False, slots=True)
class Ten:
    """An activation tensor: elements per sample; the object's identity stands for its storage."""

    elems: int
    network_input: bool = False  # the float32 batch the caller passes in (never cast in place)
    saved: bool = False  # already saved for backward by an earlier op
    wide: bool = False  # float32 even under autocast (promoted by a float32 parameter: layer scale, position embedding)


@dataclass(slots=True)
class Op:
    """One torch operation of the forward pass. Per-sample element counts unless said otherwise.

    reads/writes: activation elements read and written in the forward pass (weights apart).
    saved: activation elements (compute dtype) this op is the first to save for backward.
    saved_f32 / saved_i64: per-sample elements saved in float32 (log-softmax) / int64 (indices,
    targets) whatever the compute dtype. saved_stats: batch-independent float32 elements saved
    (batch-norm mean and inverse std, the loss's total weight). saved_buffers: persistent float32
    buffers an op saves (batch norm's running mean and var): in the saved set, not new memory.
    saved_casts: weight elements saved
    as low-precision copies (only under autocast). saved_input: elements of the network input
    saved (the float32 batch itself, or its autocast copy). saved_tensors: storages newly saved.
    live / live_i64: activation elements alive while the op runs in eval inference (the inputs of
    every enclosing module are held by their callers). grads: activation-gradient elements alive
    while its backward runs (grad of output and input, plus gradients waiting at residual joins).
    workspace: elements whose size sets the cuDNN workspace (a conv's input plus output).
    planes: a conv's filter planes (input channels per group x output channels): what a
    frequency-domain (FFT) algorithm transforms, whatever the kernel size. group_in: a conv's
    input channels per group (1 for a depthwise conv, whose kernels run at another rate).
    casts: tensors autocast converts for this op. kernels_fwd: kernels of eval forward;
    kernels_bwd: kernels of its backward plus any training-only forward work (SiLU's clone).
    """

    kind: str
    flops: int = 0
    weights: int = 0
    reads: int = 0
    writes: int = 0
    saved: int = 0
    saved_f32: int = 0
    saved_i64: int = 0
    saved_stats: int = 0
    saved_buffers: int = 0
    saved_casts: int = 0
    saved_input: int = 0
    saved_tensors: int = 0
    live: int = 0
    live_i64: int = 0
    grads: int = 0
    workspace: int = 0
    planes: int = 0
    group_in: int = 0
    casts: int = 0
    kernels_fwd: int = 0
    kernels_bwd: int = 0


@dataclass(frozen=True, slots=True)
class Segment:
    """What one child of the network recorded: its ops (shared, never changed after the walk),
    its groups (op indices from its start), its output, and what it added to the counters."""

    node: Any  # the child itself: segments are found by its identity (see ``Tracer.child``)
    ops: tuple
    groups: tuple
    out: tuple | None  # (elems, saved, wide) of a new output tensor; None: the child returns its input
    input_saved: bool  # the input's ``saved`` flag afterwards
    h: int
    w: int
    counters: tuple


class Segments:
    """Segments by (child, walk state), at most ``limit`` (all dropped past it); thread-safe."""

    def __init__(self, limit: int = 4096):
        self.limit, self.items, self.lock = limit, {}, threading.Lock()

    def get(self, key: tuple) -> Segment | None:
        return self.items.get(key)

    def put(self, key: tuple, segment: Segment) -> None:
        with self.lock:
            if len(self.items) >= self.limit:
                self.items.clear()
            self.items[key] = segment


@dataclass(slots=True)
class Tracer:
    """Spatial size, the current tensor, the held inputs of enclosing modules, and the op list."""

    h: int
    w: int
    cur: Ten = None
    held: list = field(default_factory=list)  # inputs held by enclosing modules (hold/release)
    held_ids: dict = field(default_factory=dict)  # id -> times held: each storage counts once
    held_elems: int = 0
    pending: int = 0  # gradient elements waiting at enclosing residual joins during backward
    ops: list = field(default_factory=list)
    groups: list = field(default_factory=list)  # (start, stop, times): ops[start:stop] run `times` times
    modules: int = 0  # torch modules built
    param_tensors: int = 0  # parameter tensors (each gets a gradient and a momentum buffer)
    buffer_tensors: int = 0  # batch-norm running statistics and counters
    buffer_elems: int = 0
    in_repeat: bool = False
    segments: Segments | None = None  # replay the network's children (``child``) from here
    parts: list = field(default_factory=list)  # (first op, Segment) of each child recorded or replayed
    attention: str = "math"  # the attention kernel whose saved set is traced (layers/attention.py)

    @classmethod
    def start(cls, resolution: int, segments: Segments | None = None, attention: str = "math") -> "Tracer":
        return cls(resolution, resolution, Ten(3 * resolution * resolution, network_input=True), segments=segments,
                   attention=attention)

    def child(self, node) -> None:
        """Trace a child of a sequence; the network's own children (only the network's input is
        held) are replayed from ``segments`` when the same child met the same walk state before.

        A child is found by its identity, not its value: hashing and comparing nested frozen
        dataclasses cost more than the replay. The families make one object per distinct block
        (memoised makers), and a segment keeps its node alive, so an id is never reused while it
        keys a segment; a different object equal in value is simply recorded again."""
        if self.segments is None or len(self.held) != 1:
            node.trace(self)
            return
        x = self.cur
        key = (id(node), self.h, self.w, x.elems, x.saved, x.wide, x.network_input, id(x) in self.held_ids,
               self.held_elems, self.pending, self.in_repeat, self.attention)
        segment, start = self.segments.get(key), len(self.ops)
        if segment is None or segment.node is not node:
            segment = self._recorded(node)
            self.segments.put(key, segment)
        else:
            self._replay(segment, x, start)
        self.parts.append((start, segment))

    def _replay(self, segment: Segment, x: Ten, start: int) -> None:
        """Append a recorded child's ops and leave the walk as walking it would have."""
        self.ops.extend(segment.ops)
        self.groups.extend((first + start, end + start, times) for first, end, times in segment.groups)
        self.h, self.w, x.saved = segment.h, segment.w, segment.input_saved
        self.cur = x if segment.out is None else Ten(segment.out[0], saved=segment.out[1], wide=segment.out[2])
        self.modules, self.param_tensors, self.buffer_tensors, self.buffer_elems = (
            now + added for now, added in zip(self._counters(), segment.counters))

    def _recorded(self, node) -> Segment:
        x, start, groups, before = self.cur, len(self.ops), len(self.groups), self._counters()
        node.trace(self)
        y = self.cur
        own_groups = tuple((a - start, b - start, t) for a, b, t in self.groups[groups:])
        return Segment(node, tuple(self.ops[start:]), own_groups, None if y is x else (y.elems, y.saved, y.wide), x.saved,
                       self.h, self.w, tuple(now - was for now, was in zip(self._counters(), before)))

    def op(self, kind: str, ins: tuple, outs: tuple, **counts) -> Op:
        """Record an op reading ``ins`` and writing ``outs`` (in-place ops list the tensor in both)."""
        op = Op(kind, **counts)
        read = needs_grad = written = 0
        for t in ins:
            read += t.elems
            if not t.network_input:
                needs_grad += t.elems
        for t in outs:
            written += t.elems
        op.reads = op.reads or read
        op.writes = op.writes or written
        op.live = self.live(ins + outs)
        op.grads = written + needs_grad + self.pending
        self.ops.append(op)
        return op

    def live(self, extra: tuple) -> int:
        """Elements alive: the held inputs of enclosing modules and ``extra``, each storage once."""
        total, held, seen = self.held_elems, self.held_ids, set()
        for t in extra:
            key = id(t)
            if key not in held and key not in seen and not t.network_input:
                seen.add(key)
                total += t.elems
        return total

    def hold(self, t: Ten) -> None:
        """A module's caller keeps its input ``t`` alive while the module runs."""
        self.held.append(t)
        n = self.held_ids.get(id(t), 0)
        self.held_ids[id(t)] = n + 1
        if not n and not t.network_input:
            self.held_elems += t.elems

    def release(self) -> None:
        """The innermost module is done: its input is no longer held on its behalf."""
        t = self.held.pop()
        n = self.held_ids.pop(id(t)) - 1
        if n:
            self.held_ids[id(t)] = n
        elif not t.network_input:
            self.held_elems -= t.elems

    def save(self, op: Op, t: Ten) -> None:
        """``op`` saves ``t`` for backward; a storage already saved by an earlier op counts once."""
        if t.saved:
            return
        t.saved = True
        op.saved_tensors += 1
        if t.network_input:
            op.saved_input += t.elems
        elif t.wide:
            op.saved_f32 += t.elems
        else:
            op.saved += t.elems

    def repeat(self, node, times: int) -> None:
        """Trace ``times`` copies of a shape-preserving block, recording copies 2.. as one group.

        Copy 1 is traced on its own: its input is the enclosing Repeat's input, which later
        copies find already held (and maybe saved). Copy 2 stands for every later copy: each
        starts from its predecessor's output, and every block of the vocabulary leaves its output
        saved or not as it found its input, so copies 2..times record the same ops.
        """
        if self.in_repeat:
            raise ValueError("nested Repeat is not supported by the trace")
        self.in_repeat = True
        node.trace(self)
        if times > 1:
            start, counters = len(self.ops), self._counters()
            node.trace(self)
            self.groups.append((start, len(self.ops), times - 1))
            self._scale_counters(counters, times - 1)
        self.in_repeat = False

    def _counters(self) -> tuple:
        return self.modules, self.param_tensors, self.buffer_tensors, self.buffer_elems

    def _scale_counters(self, before: tuple, times: int) -> None:
        now = self._counters()
        m, p, b, e = (before[i] + times * (now[i] - before[i]) for i in range(4))
        self.modules, self.param_tensors, self.buffer_tensors, self.buffer_elems = m, p, b, e

    def multiplicities(self) -> list[int]:
        """How many times each recorded op runs in one forward pass."""
        counts = [1] * len(self.ops)
        for start, stop, times in self.groups:
            counts[start:stop] = [times] * (stop - start)
        return counts
