"""Ranking candidate values by closeness to an ideal, as the nearest rounding always has.

Closeness is |log(value / ideal)|; ties go to the smaller value. These helpers are the small,
exact building blocks of the knob lists (``fastscale.planning.candidates``, ``fastscale.planning.width_ladder``).
"""

from __future__ import annotations

import math


def around(ideal: float, step: int, lo: int, reach: int = 1) -> list[int]:
    """Multiples of ``step`` from ``reach`` steps below floor(ideal) to ``reach`` above ceil."""
    low = math.floor(ideal / step) - reach
    high = math.ceil(ideal / step) + reach
    return sorted({max(lo, k * step) for k in range(low, high + 1)})


def closeness(value: float, ideal: float) -> float:
    return abs(math.log(max(value, 1e-9) / ideal))


def by_closeness(values, ideal: float, key=lambda v: v) -> list:
    return sorted(set(values), key=lambda v: (closeness(key(v), ideal), key(v)))


def nearest_step(ideal: float, step: int, lo: int) -> int:
    """``by_closeness(around(ideal, step, lo, 0), ideal)[0]`` without building lists."""
    q = ideal / step
    a, b = math.floor(q) * step, math.ceil(q) * step
    if a < lo:
        a = lo
    if b < lo:
        b = lo
    if a == b:
        return a
    if a <= ideal <= b:
        # b is nearer exactly when a * b < ideal**2; away from a tie that decides it as the
        # logs below would (their rounding is ~1e-16, far inside the 1e-9 margin), faster.
        gap, square = a * b - ideal * ideal, ideal * ideal
        if abs(gap) > 1e-9 * square:
            return b if gap < 0 else a
    return b if abs(math.log(b / ideal)) < abs(math.log(a / ideal)) else a


def stepped(ideal: float, step: int, lo: int, reach: int) -> list[int]:
    """``ranked_values(around(ideal, step, lo, reach), ideal)``: the multiples of ``step`` near
    ``ideal``, nearest first. At reach 0 (the floor and the ceiling: what planning asks first,
    for every knob) without building and sorting sets."""
    if reach:
        return ranked_values(around(ideal, step, lo, reach), ideal)
    q = ideal / step
    a, b = max(lo, math.floor(q) * step), max(lo, math.ceil(q) * step)
    if a == b:
        return [a]
    return [a, b] if nearest_step(ideal, step, lo) == a else [b, a]


def ranked_values(values, ideal: float) -> list:
    """``by_closeness(values, ideal)`` for plain numbers >= 1e-9, without a key function."""
    return [v for _, v in sorted([(abs(math.log(v / ideal)), v) for v in set(values)])]
