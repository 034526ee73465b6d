"""The network children a trace replays (fastscale.layers.trace.Segments) give the walk's own ops.

A trace made with the process's segment memo must equal a walk without it, op for op, group for
group and counter for counter: for zoo models, for every plan of a run of neighbouring factors
(whose networks share most blocks, so most children are replayed), and for random specs of every
family at odd resolutions (every stem, head, stride-1 stage and repeated block).
"""

from __future__ import annotations

import random

from fastscale import zoo
from fastscale.errors import ScalingError
from fastscale.memory import walk
from fastscale.planning.planner import make_plan, resolve_base
from fastscale.layers.trace import Segments, Tracer
from tests.core.planning import golden_grid


def walked(arch, resolution: int, segments: Segments | None) -> walk.Trace:
    """``walk.trace`` without its lru cache, with the given segment memo (None: a plain walk)."""
    saved = walk.SEGMENTS
    walk.SEGMENTS = segments
    try:
        return walk.trace.__wrapped__(arch, resolution)
    finally:
        walk.SEGMENTS = saved


def assert_replay_is_the_walk(arch, resolution: int, segments: Segments) -> None:
    plain = walked(arch, resolution, None)
    assert walked(arch, resolution, segments) == plain  # recorded (or partly replayed)
    assert walked(arch, resolution, segments) == plain  # every child replayed


def test_zoo_models_and_neighbouring_plans_replay_exactly():
    segments = Segments()
    for name in ("RegNetY-400MF", "EfficientNet-B0", "ResNet-50", "RegNetX-3.2GF", "EfficientNet-B4"):
        entry = zoo.get(name)
        assert_replay_is_the_walk(entry.spec, entry.resolution, segments)
        for i in range(12):
            plan = make_plan(model=name, strategy="dWr", factor=1.5 + 0.07 * i)
            assert_replay_is_the_walk(plan.arch, plan.resolution, segments)
    assert len(segments.items) > 50


def test_random_specs_replay_exactly():
    rng, segments, done = random.Random(11), Segments(), 0
    while done < 60:
        try:
            base = resolve_base(spec=golden_grid.random_spec(rng))
        except ScalingError:
            continue
        for resolution in (rng.choice([32, 64, 97]), base.resolution):
            assert_replay_is_the_walk(base.spec, resolution, segments)
        done += 1


def test_the_memo_is_bounded_and_still_exact_after_emptying():
    segments = Segments(limit=8)
    entry = zoo.get("EfficientNet-B0")
    for resolution in (224, 240, 256):
        assert_replay_is_the_walk(entry.spec, resolution, segments)
        assert len(segments.items) <= 8


def test_a_plain_tracer_walks_without_a_memo():
    tr = Tracer.start(224)
    zoo.get("ResNet-50").spec.network().trace(tr)
    assert tr.segments is None and len(tr.ops) > 50


def test_a_table_made_of_its_parts_is_the_table_of_its_ops():
    """Columns reads a replayed trace's table from its parts' kept tables (memory.columns)."""
    from fastscale.memory.columns import _table, trace_table

    segments = Segments()
    for name in ("EfficientNet-B0", "RegNetY-400MF", "ResNet-50"):
        for factor in (1.5, 1.6, 2.0):
            plan = make_plan(model=name, strategy="dWr", factor=factor)
            tr = walked(plan.arch, plan.resolution, segments)
            assert tr.parts and sum(len(seg.ops) for _, seg in tr.parts) == len(tr.ops) - 1  # all but the loss
            (table, codes), (want, want_codes) = trace_table(tr), _table(tr.ops)
            assert (table == want).all() and (codes == want_codes).all()


def test_an_equal_child_that_is_another_object_is_walked_again_not_mistaken():
    """Children are found by identity: an equal node made anew (not by a family's memoised
    makers) is recorded afresh, and either way the trace is the plain walk's."""
    from fastscale.layers import Act, Conv, Norm, Seq

    def network():
        return Seq((Seq((Conv(3, 16, 3, 2), Norm(16), Act("relu"))), Seq((Conv(16, 32, 3, 2), Norm(32)))))

    segments = Segments()
    traces = []
    for _ in range(2):
        tr = Tracer.start(64, segments)
        network().trace(tr)
        traces.append(tr.ops)
    plain = Tracer.start(64)
    network().trace(plain)
    assert traces[0] == traces[1] == plain.ops
    assert len(segments.items) == 4  # each object its own entry (a segment keeps its node, so its id)
