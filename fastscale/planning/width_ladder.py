"""The width candidates of one AnyNet stage: widths made compatible with its group width.

A stage's candidates are the images, under width/bottleneck/group compatibility, of a window of
multiples of 8 around the ideal width, ranked by closeness (ties between two group widths of one
width in the order of the Python set the search has always built). How they are found, fastest
first, all giving exactly the same lists:

- When the images are exactly the multiples of a quantum q (bottleneck multiplier a power of two
  down to 1/8 and a group width that divides 8b, or that 8b divides; every zoo model), the
  nearest images are the nearest multiples of q: no image is computed.
- With one group width and a multiplier <= 1 the image is monotone in the width and never maps
  two widths to one width with two group widths, so the nearest images are found by bisection
  over the window: a handful of evaluations however wide the window is.
- Otherwise (several group widths, or a multiplier > 1) the window is evaluated in bulk with
  numpy and ranked as a set; windows over WINDOW_CAP widths are thinned to that many (only
  custom specs with group widths far beyond the zoo's reach that size).
"""

from __future__ import annotations

import math
from functools import lru_cache, partial

import numpy as np

from fastscale.errors import ScalingError
from fastscale.families.compat import compatible, compatible_arrays
from fastscale.planning.ranking import by_closeness, closeness, nearest_step, ranked_values

WINDOW_CAP = 256


def group_rule(g: int) -> int:
    """The reference's group widths: kept if <= 2, 4 if <= 5, else a multiple of 8."""
    return g if g <= 2 else 4 if g <= 5 else round(g / 8) * 8


def group_options(g: int, f_g: float, reach: int) -> list[int]:
    """Group widths a stage may take when the strategy scales group width by ``f_g``: the
    reference's rule applied around the ideal, and multiples of 8 around it."""
    x = g * f_g
    ones = range(math.floor(x) - reach, math.ceil(x) + reach + 1)
    eights = range(math.floor(x / 8) - reach, math.ceil(x / 8) + reach + 1)
    return sorted({group_rule(max(1, c)) for c in ones} | {max(8, 8 * k) for k in eights})


@lru_cache(maxsize=256)
def ladders(spec) -> tuple:
    """One ``WidthLadder`` per stage of an AnyNet spec (specs are frozen: memoised per spec)."""
    return tuple(WidthLadder(spec, i) for i in range(len(spec.widths)))


class WidthLadder:
    """Stage i of an AnyNet: its width window's constants, worked out once per plan."""

    def __init__(self, spec, i: int):
        self.i, self.b, self.g = i, spec.bot_muls[i], spec.group_ws[i]
        self.dense = spec.has_bottleneck and self.g == int(round(spec.widths[i] * self.b))
        # Compatibility snaps widths to multiples of about g / b: reach that far either side.
        self.snap = 8 if self.dense else max(8, int(self.g / self.b))
        self.steps0 = math.ceil(self.snap / 8)
        # Monotone whatever the window: one group width and b <= 1 (see the module docstring).
        self.always_monotone = self.b <= 1
        self.quantum = self._quantum()

    def _quantum(self) -> int | None:
        """q when, with this stage's own group width, the images of widths 8k are exactly the
        multiples of q (each its own image, all valid): b = 1/2**j (j <= 3), and the group
        width divides 8b (q = 8) or 8b divides it (q = g / b, once 8kb >= g). Then the nearest
        image of an ideal width is its nearest multiple of q, found without looking at any."""
        b, g = self.b, self.g
        if b not in (1.0, 0.5, 0.25, 0.125):
            return None
        if self.dense or (8 * b) % g == 0:
            return 8
        return int(g / b) if g % (8 * b) == 0 else None

    def _progression(self, options: list, low: int) -> bool:
        """Whether this window's images are exactly the multiples of ``self.quantum``."""
        return bool(self.quantum) and len(options) == 1 and options[0] in (None, self.g) and (
            self.quantum == 8 or 8 * low * self.b >= self.g)

    def window(self, ideal_w: float, f_g: float, reach: int):
        """(group options, first k, last k, monotone) of the window of widths 8k around ideal_w."""
        options = [None] if self.dense else group_options(self.g, f_g, reach) if f_g != 1.0 else [self.g]
        steps = math.ceil((reach + 1) * self.snap / 8)
        low = max(1, math.floor(ideal_w / 8) - steps)
        high = max(1, math.ceil(ideal_w / 8) + steps)
        monotone = len(options) == 1 and (self.always_monotone or (
            not self.dense and int(max(1, 8 * low * self.b)) >= self.g))
        return options, low, high, monotone

    def ranked(self, ideal_w: float, f_g: float, reach: int) -> list[tuple[int, int]]:
        """Valid (width, group width) pairs near ``ideal_w``, nearest first."""
        options, low, high, monotone = self.window(ideal_w, f_g, reach)
        n = 2 * (reach + 1)
        if self._progression(options, low):
            # Images are the multiples of q from image(low) to image(high): rank those.
            q, b = self.quantum, self.b
            j_lo, j_hi = _image(b, options[0], low)[0] // q, _image(b, options[0], high)[0] // q
            js = range(max(j_lo, math.floor(ideal_w / q) - n), min(j_hi, math.ceil(ideal_w / q) + n) + 1)
            nearest = ranked_values([j * q for j in js], ideal_w)[:n]
            ranked = [(w, int(w * b) if self.dense else self.g) for w in nearest]
        elif monotone:
            ranked = _monotone_ranked(partial(_image, self.b, options[0]), low, high, ideal_w, n)
        else:
            ranked = _bulk_ranked(self.b, options, low, high, ideal_w, n)
        if not ranked:
            raise ScalingError("factor", f"stage {self.i} has no valid width near {ideal_w:.0f} for its group "
                               f"width {self.g} and bottleneck multiplier {self.b:g}", "another factor or strategy")
        return ranked

    def knob(self, ideal_w: float, f_g: float, reach: int) -> list[tuple[int, int]]:
        """The candidates as the knob lists them: the ranked pairs, ranked once more as a set,
        which can swap two group widths of one width (the search always did this)."""
        ranked = self.ranked(ideal_w, f_g, reach)
        if len({w for w, _ in ranked}) == len(ranked):
            return ranked  # already in (closeness, width) order, with no ties to reorder
        return by_closeness(ranked, ideal_w, key=lambda p: p[0])

    def nearest(self, ideal_w: float, f_g: float) -> tuple[int, int]:
        """``self.knob(ideal_w, f_g, 0)[0]``, the pair calibration needs, found quickly.

        With b <= 1 each group option's images are monotone, so each option's nearest image is
        found on its own; only when two options tie on one width (their order then depends on
        the set the search builds) is the full ranking asked for.
        """
        if self.quantum and (self.dense or f_g == 1.0):
            q = self.quantum
            if q == 8 or 8 * (math.floor(ideal_w / 8) - self.steps0) * self.b >= self.g:
                w = nearest_step(ideal_w, q, q)
                return w, int(w * self.b) if self.dense else self.g
        options, low, high, monotone = self.window(ideal_w, f_g, 0)
        if not (monotone or self.always_monotone):
            return self.knob(ideal_w, f_g, 0)[0]
        found = sorted(filter(None, (_nearest_image(self.b, option, low, high, ideal_w) for option in options)))
        top = [pair[1:] for pair in found if pair[:2] == found[0][:2]]
        if len(top) == 1:
            return top[0]
        if len(top) == 2:
            # Two group widths tie on the nearest width: the knob lists them in the order of a
            # two-element set, which is fixed whenever it does not depend on insertion order.
            order = list({top[0], top[1]})
            if order == list({top[1], top[0]}):
                return order[0]
        return self.knob(ideal_w, f_g, 0)[0]


def _nearest_image(b: float, option, low: int, high: int, ideal: float) -> tuple | None:
    """(closeness, width, group width) of the valid image of widths 8*low..8*high nearest ideal,
    images being monotone: bisect for the first image above the ideal, then take the nearer of
    the valid images on either side of it (ties to the smaller width, as the ranking does)."""
    image = partial(_image, b, option)
    first_above = _first_k(image, low, high + 1, lambda w: w > ideal)
    best = None
    for side in (_side(image, first_above - 1, low, -1), _side(image, first_above, high, 1)):
        pair = next(side, None)
        if pair is not None:
            key = (abs(math.log(max(pair[0], 1e-9) / ideal)), *pair)
            best = key if best is None or key < best else best
    return best


@lru_cache(maxsize=1 << 16)
def _image(b: float, group_w: int | None, k: int) -> tuple[int, int, bool]:
    """(width, group width, valid) that compatibility makes of width 8k (dense when group_w is None)."""
    w = 8 * k
    w2, g2 = compatible(w, b, max(1, int(w * b)) if group_w is None else group_w)
    return w2, g2, w2 >= 1 and int(round(w2 * b)) % g2 == 0


def _monotone_ranked(image, low: int, high: int, ideal: float, n: int) -> list[tuple[int, int]]:
    """The n nearest valid images of widths 8*low..8*high, given images non-decreasing in width.

    Below the ideal the images get further away going down, above it going up: the ranking is a
    merge of the two sides by (closeness, width). Each next distinct image on a side is found by
    bisection (one width's image repeats over a run of about snap / 8 windows' widths).
    """
    first_above = _first_k(image, low, high + 1, lambda w: w > ideal)
    down, up = _side(image, first_above - 1, low, -1), _side(image, first_above, high, 1)
    d, u = next(down, None), next(up, None)
    out = []
    while len(out) < n and (d or u):
        if u is None or (d is not None and (closeness(d[0], ideal), d[0]) <= (closeness(u[0], ideal), u[0])):
            out.append(d)
            d = next(down, None) if len(out) < n else None
        else:
            out.append(u)
            u = next(up, None) if len(out) < n else None
    return out


def _first_k(image, lo: int, hi: int, beyond) -> int:
    """Smallest k in [lo, hi) whose image width satisfies ``beyond`` (monotone), else hi."""
    while lo < hi:
        mid = (lo + hi) // 2
        if beyond(image(mid)[0]):
            hi = mid
        else:
            lo = mid + 1
    return lo


def _side(image, k: int, end: int, step: int):
    """Distinct valid images from k towards ``end`` (inclusive), jumping over repeated images."""
    while (k - end) * step <= 0:
        w2, g2, ok = image(k)
        if ok:
            yield (w2, g2)
        if step > 0:
            k = _first_k(image, k + 1, end + 1, lambda w: w > w2)
        else:  # the last k below with a smaller image: bisect on the mirrored condition
            k = _first_k(image, end, k, lambda w: w >= w2) - 1


def _bulk_ranked(b: float, options: list, low: int, high: int, ideal: float, n: int) -> list[tuple[int, int]]:
    """Every (window width, group option) made compatible at once, then ranked as a set of pairs."""
    ks = np.arange(low, high + 1, dtype=np.int64)
    if len(ks) > WINDOW_CAP:
        stride = math.ceil(len(ks) / WINDOW_CAP)
        near = np.clip([math.floor(ideal / 8), math.ceil(ideal / 8)], low, high)
        ks = np.union1d(ks[::stride], near)
    ws = 8 * ks
    w2s, g2s = [], []
    for option in options:
        gw = np.maximum(1, (ws * b).astype(np.int64)) if option is None else np.full_like(ws, option)
        w2, g2 = compatible_arrays(ws, b, gw)
        w2s.append(w2)
        g2s.append(g2)
    w2, g2 = np.stack(w2s, axis=1).ravel(), np.stack(g2s, axis=1).ravel()  # width-major, like the loop
    ok = (w2 >= 1) & (np.rint(w2 * b).astype(np.int64) % g2 == 0)
    pairs = set()
    for pair in zip(w2[ok].tolist(), g2[ok].tolist()):
        pairs.add(pair)  # insertion order decides ties between one width's group widths
    return by_closeness(pairs, ideal, key=lambda p: p[0])[:n]
