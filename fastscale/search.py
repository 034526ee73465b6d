"""The nearest rounding's local search, with candidate architectures evaluated in bulk.

A candidate architecture is one choice per knob (an index into its candidate list). Its flops
are a sum over the stem, the stages and the head, and each term depends on at most four knobs:
the resolution, the stage's depth, its width and the previous stage's width (its input). So each
term is tabulated once per search over every combination of those few candidates, with the
closed forms of ``stage_cost``, and a batch of candidates costs a few numpy gathers and a sum.

The search is the best-improvement local search planning has always run, move for move: every
single change, and when none helps, every pair of changes, scanned in the same order, taking a
move only when it beats the best so far by more than 1e-12. Bulk scans reproduce that order
exactly (see ``_first_best``), so plans are identical to the one-by-one search's.
"""

from __future__ import annotations

import math

import numpy as np

from fastscale import stage_cost
from fastscale.families import EffNetSpec

INT64_SAFE = 1 << 61  # tables whose flops could pass this are built from Python ints instead
_NP_MARGIN = 1e-14  # how far numpy's log may stray from math.log, with room to spare


def exact_error(flops: int, target: float) -> float:
    return abs(math.log(flops / target))


class Tables:
    """Flops of every stem, stage and head variant a set of knobs can produce."""

    def __init__(self, spec, resolution: int, knobs: list):
        self.eff = isinstance(spec, EffNetSpec)
        k_of = {(name, i): k for k, (name, i, _) in enumerate(knobs)}
        dummy = len(knobs)  # a choice column that is always 0: the dimension is not scaled
        n = len(spec.depths)
        cands = {key: knobs[k][2] for key, k in k_of.items()}
        self.res = cands.get(("resolution", -1), [resolution])
        self.depths = [cands.get(("depths", i), [d]) for i, d in enumerate(spec.depths)]
        if self.eff:
            self.widths = [cands.get(("widths", i), [w]) for i, w in enumerate(spec.widths)]
            self.groups = [[1] * len(ws) for ws in self.widths]
        else:
            pairs = [cands.get(("widths", i), [(w, g)]) for i, (w, g) in enumerate(zip(spec.widths, spec.group_ws))]
            self.widths = [[p[0] for p in ps] for ps in pairs]
            self.groups = [[p[1] for p in ps] for ps in pairs]
        self.stems = cands.get(("stem_w", -1), [spec.stem_w])
        self.heads = cands.get(("head_w", -1), [spec.head_w])
        self.r_col = k_of.get(("resolution", -1), dummy)
        self.d_cols = np.array([k_of.get(("depths", i), dummy) for i in range(n)])
        self.w_cols = np.array([k_of.get(("widths", i), dummy) for i in range(n)])
        self.p_cols = np.concatenate([[k_of.get(("stem_w", -1), dummy)], self.w_cols[:-1]])
        self.stem_col, self.head_col = k_of.get(("stem_w", -1), dummy), k_of.get(("head_w", -1), dummy)
        self.stages = np.arange(n)
        self._tabulate(spec)

    def _tabulate(self, spec) -> None:
        n, sizes = len(self.depths), [self._sizes(spec, r) for r in self.res]
        prevs = [self.stems] + self.widths[:-1]
        wid, grp, prv, self.dep = (_padded(lists) for lists in (self.widths, self.groups, prevs, self.depths))
        h_in = np.array([s[:n] for s in sizes]).T  # [stage, res]
        h_out = np.array([s[1:] for s in sizes]).T
        # int64 unless the largest figure could overflow it; then exact Python ints (slower, rare).
        exact = object if self._bound(spec, sizes, prevs) >= INT64_SAFE else None
        ints = [np.asarray(a, dtype=exact) for a in (wid, grp, prv, h_in, h_out)]
        self.first, self.rest = self._stage_costs(spec, exact, *ints)
        r = np.array(self.res, dtype=exact)[:, None]
        stems = np.array(self.stems, dtype=exact)[None, :]
        self.stem = stage_cost.stem_flops(getattr(spec, "stem_type", "simple_stem_in"), stems, r)
        self.head = stage_cost.head_flops(np.array(self.widths[-1], dtype=exact)[None, :, None],
                                          np.array(self.heads, dtype=exact)[None, None, :], spec.num_classes,
                                          np.array([s[n] for s in sizes], dtype=exact)[:, None, None])

    def _stage_costs(self, spec, exact, wid, grp, prv, h_in, h_out):
        """first[stage, res, prev, width]: a stage's first block; rest[stage, res, width]: each other."""

        def per_stage(values, dims=3):
            return np.array(values, dtype=exact).reshape((-1,) + (1,) * dims)

        ci, co, g = prv[:, None, :, None], wid[:, None, None, :], grp[:, None, None, :]
        h, ho, c = h_in[:, :, None, None], h_out[:, :, None], wid[:, None, :]
        if self.eff:
            e, k = per_stage(spec.exp_ratios), per_stage(spec.kernels)
            first = stage_cost.mbconv_block_flops(ci, e, k, per_stage(spec.strides), spec.se_r, co, h)
            rest = stage_cost.mbconv_block_flops(c, e[:, :, 0], k[:, :, 0], 1, spec.se_r, c, ho)
        else:
            b, kind = per_stage(spec.bot_muls), spec.block_type
            first = stage_cost.anynet_block_flops(kind, ci, co, per_stage(spec.strides), b, g, spec.se_r, h)
            rest = stage_cost.anynet_block_flops(kind, c, c, 1, b[:, :, 0], grp[:, None, :], spec.se_r, ho)
        return first, rest

    def _sizes(self, spec, r: int) -> list[int]:
        """Input side of each stage, then the final side, at resolution r."""
        h = stage_cost.stem(getattr(spec, "stem_type", "simple_stem_in"), 1, r)[3]
        out = [h]
        for s in spec.strides:
            h = stage_cost.out_size(h, s)
            out.append(h)
        return out

    def _bound(self, spec, sizes, prevs) -> int:
        """More than any tabulated figure: every conv of a block is at most 7*7*m*m per output
        pixel, m the widest channel count the block can have, and a block has at most four."""
        mult = max(spec.exp_ratios) if self.eff else max(max(spec.bot_muls), 1.0)
        total = 49 * 3 * max(self.stems) * max(s[0] for s in sizes) ** 2
        for i, (ws, ps, ds) in enumerate(zip(self.widths, prevs, self.depths)):
            m = int(max(max(ws), max(ps)) * mult) + 1
            total += 4 * 49 * m * m * max(s[i] for s in sizes) ** 2 * max(ds)
        return 2 * (total + max(self.widths[-1]) * max(max(self.heads), 1) * max(max(s) for s in sizes) ** 2
                    + 10**9)

    def flops(self, choices: np.ndarray):
        """Flops of each row of ``choices`` (one index per knob, plus the always-0 column)."""
        r = choices[:, self.r_col][:, None]
        wc = choices[:, self.w_cols]
        stages = (self.first[self.stages, r, choices[:, self.p_cols], wc]
                  + (self.dep[self.stages, choices[:, self.d_cols]] - 1) * self.rest[self.stages, r, wc])
        return (stages.sum(axis=1) + self.stem[r[:, 0], choices[:, self.stem_col]]
                + self.head[r[:, 0], wc[:, -1], choices[:, self.head_col]])


def _padded(lists: list[list[int]]) -> np.ndarray:
    """Ragged candidate lists as one array, short lists padded with their first value."""
    width = max(len(v) for v in lists)
    return np.array([list(v) + [v[0]] * (width - len(v)) for v in lists], dtype=np.int64)


def _first_best(flops, start: float, target: float) -> tuple[int | None, float]:
    """What scanning ``flops`` in order would pick: (index, error) of the last move that beat the
    best so far by over 1e-12, starting from ``start``; (None, start) if none did.

    Numpy finds the smallest error; only when another comes within a whisker of it (exact ties
    are common: different moves can give equal flops) is the order replayed in Python, on exact
    math.log errors of the moves that could have been taken at all.
    """
    if not len(flops):
        return None, start
    errs = np.abs(np.log(np.asarray(flops / target, dtype=np.float64)))
    i = int(np.argmin(errs))
    if not errs[i] < start - 1e-12 + _NP_MARGIN:
        return None, start
    close = np.flatnonzero(errs <= errs[i] + 3e-12 + _NP_MARGIN)
    if len(close) == 1:
        e = exact_error(int(flops[i]), target)
        if e < start - 1e-12:
            return i, e
    best, pick = start, None
    for j in np.flatnonzero(errs < start - 1e-12 + _NP_MARGIN).tolist():
        e = exact_error(int(flops[j]), target)
        if e < best - 1e-12:
            best, pick = e, j
    return pick, best


def _pair_moves(sizes: np.ndarray) -> tuple[np.ndarray, ...]:
    """Every (knob a, knob b > a, candidate of a, candidate of b), in the search's loop order."""
    a, b = np.triu_indices(len(sizes), 1)
    counts = sizes[a] * sizes[b]
    pair = np.repeat(np.arange(len(a)), counts)
    local = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    return a[pair], b[pair], local // sizes[b][pair], local % sizes[b][pair]


def _apply(choice: np.ndarray, knob_cols: list, values: list) -> np.ndarray:
    """One row per move: ``choice`` with each move's knobs set to its candidates."""
    rows = np.tile(choice, (len(values[0]), 1))
    at = np.arange(len(rows))
    for cols, vals in zip(knob_cols, values):
        rows[at, cols] = vals
    return rows


def local_search(tables: Tables, knobs: list, target: float, budget) -> tuple[list[int], float]:
    """Best-improvement local search over the knobs' candidates (index 0 = nearest the ideal)."""
    n = len(knobs)
    choice = np.zeros(n + 1, dtype=np.int64)
    best = exact_error(int(tables.flops(choice[None, :])[0]), target)
    if not n:
        return [], best
    sizes = np.array([len(c) for _, _, c in knobs])
    move_k = np.repeat(np.arange(n), sizes)
    move_c = np.arange(sizes.sum()) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    pairs = None
    for _ in range(200):
        budget.check()
        keep = move_c != choice[move_k]
        rows = _apply(choice, [move_k[keep]], [move_c[keep]])
        pick, err = _first_best(tables.flops(rows), best, target)
        if pick is None and best > 0.002:
            # Pairs: one dimension up, another down, when no single change helps.
            pairs = pairs or _pair_moves(sizes)
            a, b, ca, cb = pairs
            keep = (ca != choice[a]) & (cb != choice[b])
            rows = _apply(choice, [a[keep], b[keep]], [ca[keep], cb[keep]])
            pick, err = _first_best(tables.flops(rows), best, target)
        if pick is None:
            break
        choice, best = rows[pick], err
        if best < 1e-6:
            break
    return choice[:n].tolist(), best
