"""The nearest rounding's local search, with candidate architectures evaluated in bulk.

A candidate architecture is one choice per knob (an index into its candidate list). Its flops
are a sum of one term per stage, one for the stem and one for the head, and each term depends on
at most four knobs: the resolution, the stage's depth, its width and the previous stage's width
(its input). So every term is tabulated once per search, over all combinations of those few
candidates (stage flops are the first block plus d - 1 times each other block, from the memoised
block flops or the closed forms of ``stage_cost`` on broadcast arrays), and flattened into one
array; a candidate's terms then sit at linear indices that are a fixed linear map of its
choices. A batch of candidates is one small integer matrix product, one gather and one sum.

The search is the best-improvement local search planning has always run, move for move: every
single change, and when none helps, every pair of changes, scanned in the same order, taking a
move only when it beats the best so far by more than 1e-12. ``_first_best`` reproduces that scan
exactly from the batch, so plans are identical to the one-by-one search's.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from fastscale.planning import stage_cost
from fastscale.planning.block_flops import StageCosts
from fastscale.families import EffNetSpec

INT64_SAFE = 1 << 61  # tables whose flops could pass this are built from Python ints instead
SMALL_TABLE = 512  # stage tables up to this many first blocks are filled from the block cache
_NP_MARGIN = 1e-14  # how far numpy's log may stray from math.log, with room to spare


def exact_error(flops: int, target: float) -> float:
    return abs(math.log(flops / target))


class Tables:
    """Every stage, stem and head term a set of knobs can produce, and where each candidate's are.

    ``table`` is the flat array of terms; row k of ``index`` is how much choice index 1 of knob
    k moves each term's position (the last row belongs to a column that is always 0), so a
    candidate's terms are at ``choices @ index + offset``.
    """

    def __init__(self, spec, resolution: int, knobs: list, costs: StageCosts | None = None):
        self.eff = isinstance(spec, EffNetSpec)
        self.costs = costs or StageCosts(spec)
        cands = {(name, i): values for name, i, values in knobs}
        n = len(spec.depths)
        self.res = cands.get(("resolution", -1), [resolution])
        self.depths = [cands.get(("depths", i), [d]) for i, d in enumerate(spec.depths)]
        if self.eff:
            self.widths = [cands.get(("widths", i), [w]) for i, w in enumerate(spec.widths)]
            self.groups = [[None] * len(ws) for ws in self.widths]
        else:
            pairs = [cands.get(("widths", i), [(w, g)]) for i, (w, g) in enumerate(zip(spec.widths, spec.group_ws))]
            self.widths = [[p[0] for p in ps] for ps in pairs]
            self.groups = [[p[1] for p in ps] for ps in pairs]
        self.stems = cands.get(("stem_w", -1), [spec.stem_w])
        self.heads = cands.get(("head_w", -1), [spec.head_w])
        self.prevs = [self.stems] + self.widths[:-1]
        # default=1: a spec of zero stages (pycls builds one: a stem and a head) has no stage lists.
        self.shape = (n, len(self.res), max(map(len, self.prevs)), max(map(len, self.widths), default=1),
                      max(map(len, self.depths), default=1))
        self._tabulate(spec)
        self.index, self.offset = _layout(tuple((name, i) for name, i, _ in knobs), self.shape,
                                          len(self.stems), len(self.widths[-1]) if n else 1, len(self.heads))

    def _tabulate(self, spec) -> None:
        n, r, p, w, d = self.shape
        sizes = [self.costs.sides(res) for res in self.res]
        exact = object if self._bound(spec, sizes) >= INT64_SAFE else np.int64
        if n * r * p * w > SMALL_TABLE:
            first, rest = (np.asarray(t, dtype=exact).reshape(shape) for t, shape in
                           zip(self._numpy_blocks(spec, sizes, exact), ((n, r, p, w), (n, r, w))))
            dep = np.array([_pad(ds, d) for ds in self.depths], dtype=exact)
            stages = (first[..., None] + (dep[:, None, None, None, :] - 1) * rest[:, :, None, :, None]).ravel()
        else:
            stages = self._python_stages(spec, sizes)
        stem_type = getattr(spec, "stem_type", "simple_stem_in")
        ends = [stage_cost.stem_flops(stem_type, sw, res) for res in self.res for sw in self.stems]
        ends += [stage_cost.head_flops(wl, hw, spec.num_classes, hs[-1])
                 for hs in sizes for wl in self.widths[-1] for hw in self.heads]
        if isinstance(stages, list):
            self.table = np.array(stages + ends, dtype=exact)
        else:
            self.table = np.concatenate([stages, np.array(ends, dtype=exact)])

    def _python_stages(self, spec, sizes) -> list:
        """Small tables: every stage variant from the plan's memoised single-block flops."""
        n, _, p, w, d = self.shape
        costs, out = self.costs, []
        for i in range(n):
            ws, gs = _pad(self.widths[i], w), _pad(self.groups[i], w)
            ps, ds = _pad(self.prevs[i], p), _pad(self.depths[i], d)
            for hs in sizes:
                h, ho = hs[i], hs[i + 1]
                rests = [costs.rest(i, co, g, ho) for co, g in zip(ws, gs)]
                for ci in ps:
                    for co, g, rest in zip(ws, gs, rests):
                        first = costs.first(i, ci, co, g, h)
                        out += [first + (k - 1) * rest for k in ds]
        return out

    def _numpy_blocks(self, spec, sizes, exact):
        """Large tables: every block at once, with the closed forms on broadcast arrays."""
        n, _, p, w, _ = self.shape

        def per_stage(values):
            return np.array(values, dtype=exact if exact is object else None).reshape(-1, 1, 1, 1)

        wid = np.array([_pad(ws, w) for ws in self.widths], dtype=exact)
        ci, co = np.array([_pad(ps, p) for ps in self.prevs], dtype=exact)[:, None, :, None], wid[:, None, None, :]
        h = np.array([hs[:n] for hs in sizes], dtype=exact).T[:, :, None, None]
        ho, c = np.array([hs[1:n + 1] for hs in sizes], dtype=exact).T[:, :, None], wid[:, None, :]
        if self.eff:
            e, k = per_stage(spec.exp_ratios), per_stage(spec.kernels)
            first = stage_cost.mbconv_block_flops(ci, e, k, per_stage(spec.strides), spec.se_r, co, h)
            return first, stage_cost.mbconv_block_flops(c, e[:, :, 0], k[:, :, 0], 1, spec.se_r, c, ho)
        g = np.array([_pad(gs, w) for gs in self.groups], dtype=exact)
        b, kind = per_stage(spec.bot_muls), spec.block_type
        first = stage_cost.anynet_block_flops(kind, ci, co, per_stage(spec.strides), b, g[:, None, None, :],
                                              spec.se_r, h)
        return first, stage_cost.anynet_block_flops(kind, c, c, 1, b[:, :, 0], g[:, None, :], spec.se_r, ho)

    def _bound(self, spec, sizes) -> int:
        """More than any tabulated figure: every conv of a block is at most 7*7*m*m per output
        pixel, m the widest channel count the block can have, and a block has at most four."""
        mult = max(spec.exp_ratios) if self.eff else max(max(spec.bot_muls), 1.0)
        side = [max(col) for col in zip(*sizes)]
        total = 49 * 3 * max(self.stems) * side[0] ** 2
        for i, (ws, ps, ds) in enumerate(zip(self.widths, self.prevs, self.depths)):
            m = int(max(max(ws), max(ps)) * mult) + 1
            total += 4 * 49 * m * m * side[i] ** 2 * max(ds)
        return 2 * (total + max(self.widths[-1]) * max(max(self.heads), 1) * side[0] ** 2 + 10**9)

    def flops_at(self, positions: np.ndarray):
        """Flops of the candidates whose terms sit at ``positions`` (one row each)."""
        return self.table.take(positions).sum(axis=1)


@lru_cache(maxsize=4096)
def _layout(keys: tuple, shape: tuple, n_stems: int, n_last: int, n_heads: int) -> tuple[np.ndarray, np.ndarray]:
    """(index, offset) of a table: row k of ``index`` is how far choice index 1 of knob k moves
    each term (the last row, for dimensions that are not knobs, stays 0), ``offset`` where
    choice 0's terms are. Only which knobs there are and the table's shape matter, and a
    service sees few of those, so layouts are kept (read-only)."""
    n, r, p, w, d = shape
    k_of = {key: k for k, key in enumerate(keys)}
    n_knobs = len(keys)
    index = [[0] * (n + 2) for _ in range(n_knobs + 1)]
    for s in range(n):
        prev = ("stem_w", -1) if s == 0 else ("widths", s - 1)
        for key, stride in ((("resolution", -1), p * w * d), (prev, w * d), (("widths", s), d), (("depths", s), 1)):
            index[k_of.get(key, n_knobs)][s] += stride
    for c, key, stride in ((n, ("resolution", -1), n_stems), (n, ("stem_w", -1), 1),
                           (n + 1, ("resolution", -1), n_last * n_heads),
                           (n + 1, ("widths", n - 1), n_heads), (n + 1, ("head_w", -1), 1)):
        index[k_of.get(key, n_knobs)][c] += stride
    index[n_knobs] = [0] * (n + 2)
    stem_at = n * r * p * w * d
    offset = [s * r * p * w * d for s in range(n)] + [stem_at, stem_at + r * n_stems]
    return _frozen(np.array(index, dtype=np.int64)), _frozen(np.array(offset, dtype=np.int64))


def _pad(values: list, width: int) -> list:
    """A candidate list padded to ``width`` with its first value (padding is never chosen)."""
    return list(values) + [values[0]] * (width - len(values))


def _first_best(flops, start: float, target: float) -> int | None:
    """What scanning ``flops`` in order would pick: the index of the last move that beat the best
    so far by over 1e-12, starting from ``start``; None if none did.

    Numpy finds the smallest error; only when another comes within a whisker of it (exact ties
    are common: different moves can give equal flops) is the order replayed in Python, on exact
    math.log errors of the moves that could have been taken at all.
    """
    if not len(flops):
        return None
    errs = np.abs(np.log(np.asarray(flops / target, dtype=np.float64)))
    i = int(np.argmin(errs))
    if not errs[i] < start - 1e-12 + _NP_MARGIN:
        return None
    alone = np.count_nonzero(errs <= errs[i] + 3e-12 + _NP_MARGIN) == 1
    if alone and exact_error(int(flops[i]), target) < start - 1e-12:
        return i
    best, pick = start, None
    for j in np.flatnonzero(errs < start - 1e-12 + _NP_MARGIN).tolist():
        e = exact_error(int(flops[j]), target)
        if e < best - 1e-12:
            best, pick = e, j
    return pick


@lru_cache(maxsize=1024)
def _single_moves(sizes: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Every (knob, candidate) in the search's loop order. Only the shape of the knob lists
    matters, and a service sees few shapes, so the arrays are kept (read-only) per shape."""
    return tuple(map(_frozen, _runs(np.array(sizes))))


@lru_cache(maxsize=1024)
def _pair_moves(sizes: tuple[int, ...]) -> tuple[np.ndarray, ...]:
    """Every (knob a, knob b > a, candidate of a, candidate of b), in the search's loop order."""
    counts = np.array(sizes)
    a, b = np.triu_indices(len(sizes), 1)
    pair, local = _runs(counts[a] * counts[b])
    return tuple(map(_frozen, (a[pair], b[pair], local // counts[b][pair], local % counts[b][pair])))


def _runs(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For runs of ``counts[k]`` items each, laid end to end: each item's run, and its place in it."""
    run = np.repeat(np.arange(len(counts)), counts)
    return run, np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)


def _frozen(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


def local_search(tables: Tables, knobs: list, target: float, budget) -> tuple[list[int], float]:
    """Best-improvement local search over the knobs' candidates (index 0 = nearest the ideal).

    Moves that leave a knob where it is (skipped by the one-by-one search) stay in the batch:
    they give the current flops, or a single move's that did not help, so they are never taken.
    """
    n = len(knobs)
    choice = np.zeros(n, dtype=np.int64)
    at = tables.offset.copy()  # where the current candidate's terms are
    best = exact_error(int(tables.flops_at(at[None, :])[0]), target)
    if not n:
        return [], best
    sizes = tuple(len(c) for _, _, c in knobs)
    move_k, move_c = _single_moves(sizes)
    shift = tables.index[move_k]
    pairs = None
    for _ in range(200):
        budget.check()
        flops = tables.flops_at(at + (move_c - choice[move_k])[:, None] * shift)
        pick = _first_best(flops, best, target)
        if pick is not None:
            moved = [(move_k[pick], move_c[pick])]
        elif best > 0.002 and n > 1:
            # Pairs: one dimension up, another down, when no single change helps.
            if pairs is None:
                a, b, ca, cb = _pair_moves(sizes)
                pairs = a, b, ca, cb, tables.index[a], tables.index[b]
            a, b, ca, cb, shift_a, shift_b = pairs
            flops = tables.flops_at(at + (ca - choice[a])[:, None] * shift_a + (cb - choice[b])[:, None] * shift_b)
            pick = _first_best(flops, best, target)
            moved = [] if pick is None else [(a[pick], ca[pick]), (b[pick], cb[pick])]
        if pick is None:
            break
        for k, c in moved:
            at += (c - choice[k]) * tables.index[k]
            choice[k] = c
        best = exact_error(int(flops[pick]), target)
        if best < 1e-6:
            break
    return choice.tolist(), best
