"""Flops of single blocks and whole stages, memoised per base spec: what calibration and the
search's tables ask for most.

A stage's flops are its first block (which changes width and stride) plus d - 1 times each of
the others, so the two are kept apart: changing a stage's depth or its input width then reuses
most of what is known. Calibration evaluates a few dozen architectures and the search then
tabulates the neighbourhood calibration ended in, so both share one ``StageCosts`` (plain dicts
on small tuples).

``stage_costs(spec)`` keeps one per base spec across plans. Its keys are shapes (channels, group
width, map side, depth), never a request's factor, and plans of one model at any factors meet
the same few hundred of them: over 1,200 distinct plans of one zoo model it held under 1,000
entries, and planning took 0.76-0.79 of the time it took with a fresh memo per plan. Each memo is
emptied past MAX_ENTRIES, so an adversarial spec cannot grow it without bound.
"""

from __future__ import annotations

from functools import lru_cache

from fastscale.planning import stage_cost


def sizes(spec, r: int) -> list[int]:
    """Input side of each stage, then the final side, at resolution r."""
    return list(_sizes(getattr(spec, "stem_type", "simple_stem_in"), spec.strides, r))


@lru_cache(maxsize=4096)
def _sizes(stem_type: str, strides: tuple, r: int) -> tuple[int, ...]:
    h = stage_cost.stem(stem_type, 1, r)[3]
    out = [h]
    for s in strides:
        h = stage_cost.out_size(h, s)
        out.append(h)
    return tuple(out)


def block_functions(spec, i: int):
    """(first, rest) int-only flops of stage i's first block and of each other block, both as
    (in channels, out channels, group width, input side) -> flops (MBConv ignores group width)."""
    s, se_r = spec.strides[i], spec.se_r
    if hasattr(spec, "exp_ratios"):
        e, k = spec.exp_ratios[i], spec.kernels[i]
        return stage_cost.mbconv_block_flops_fn(e, k, s, se_r), stage_cost.mbconv_block_flops_fn(e, k, 1, se_r)
    kind, b = spec.block_type, spec.bot_muls[i]
    return stage_cost.anynet_block_flops_fn(kind, s, b, se_r), stage_cost.anynet_block_flops_fn(kind, 1, b, se_r)


MAX_ENTRIES = 50_000  # per memo (one stage's first blocks, its other blocks, or all stages)


@lru_cache(maxsize=64)
def stage_costs(spec) -> "StageCosts":
    """The process's StageCosts of a base spec (specs are frozen: equal specs share one)."""
    return StageCosts(spec)


class StageCosts:
    """Block and stage flops for one spec, each worked out once. Safe to share between threads:
    a value is a pure function of its key, so a race writes the same value twice."""

    def __init__(self, spec):
        self.spec = spec
        self.functions = [block_functions(spec, i) for i in range(len(spec.depths))]
        self.firsts: list[dict] = [{} for _ in self.functions]  # (ci, co, g, h) -> flops, per stage
        self.rests: list[dict] = [{} for _ in self.functions]  # (co, g, h) -> flops, per stage
        self.stages: dict[tuple, int] = {}  # (stage, resolution, ci, co, g, d) -> flops
        self._sides: dict[int, list[int]] = {}

    def sides(self, res: int) -> list[int]:
        got = self._sides.get(res)
        if got is None:
            got = self._sides[res] = sizes(self.spec, res)
        return got

    def first(self, i: int, ci: int, co: int, g, h: int) -> int:
        memo, key = self.firsts[i], (ci, co, g, h)
        got = memo.get(key)
        if got is None:
            got = _put(memo, key, self.functions[i][0](ci, co, g, h))
        return got

    def rest(self, i: int, co: int, g, h: int) -> int:
        memo, key = self.rests[i], (co, g, h)
        got = memo.get(key)
        if got is None:
            got = _put(memo, key, self.functions[i][1](co, co, g, h))
        return got

    def stage(self, i: int, res: int, ci: int, co: int, g, d: int, hs: list[int]) -> int:
        """Stage i from ci to co channels (group width g), d blocks, in a network at ``res``
        (``hs``: ``self.sides(res)``)."""
        first, rest = self.first(i, ci, co, g, hs[i]), self.rest(i, co, g, hs[i + 1])
        return _put(self.stages, (i, res, ci, co, g, d), first + (d - 1) * rest)


def _put(memo: dict, key, value: int) -> int:
    if len(memo) >= MAX_ENTRIES:
        memo.clear()
    memo[key] = value
    return value
