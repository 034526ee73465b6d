"""Scaling strategies: which share of the flops growth goes to depth, width and resolution.

A strategy is a set of relative weights over d (depth), w (width), r (resolution) and g (group
width). Normalised by ``d + w + r`` they are the exponents: depth grows by ``s**e_d``, width by
``s**(e_w/2)``, resolution by ``s**(e_r/2)``, group width by ``s**(e_g/2)``; flops grow by ``s``.

Accepted forms: the named strategies ``d w r dw dr wr dwr`` (equal weights), ``dWr`` with
``alpha`` (fast compound scaling), the reference's weight strings (``d1_w8_r1``, ``d1_w8_g8_r1``),
and explicit exponents. Factors are computed with the same float operations as the reference,
so ``pycls`` rounding reproduces it bit for bit.

Every accepted spelling has one canonical name (``canonical``), which is what plans, records,
ids, listings and filters carry, so one strategy is never two: weights are reduced to their
smallest integer ratio; equal weights are the letter names in the order d, w, g, r (``wdr`` and
``d1_w1_r1`` are ``dwr``); d = r with some w is ``dWr`` with that alpha when alpha is a short
decimal (``d1_w8_r1`` is ``dWr`` at 0.8, the paper's default; ``d2_w16_r2`` too); every other
ratio is its reduced weight string (``d2_w4`` is ``d1_w2``). ``dWr`` at alpha 1 is ``w`` and at
alpha 0 is ``dr``. Names are case-sensitive where the paper's are: ``dwr`` (equal weights) is not
``dWr`` (alpha 0.8).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import cached_property, lru_cache
from fractions import Fraction

from fastscale.errors import ScalingError, brief, finite_number

NAMED = ("d", "w", "r", "dw", "dr", "wr", "dwr", "dWr")
DEFAULT_ALPHA = 0.8
MIN_FACTOR, MAX_FACTOR = 1 / 16, 1024.0
MAX_NAME_CHARS = 64
_WEIGHT_STRING = re.compile(r"^[dwgr]\d+(\.\d+)?(_[dwgr]\d+(\.\d+)?)*$")
_LETTERS = re.compile(r"^[dwgr]+$")
STRATEGY_HELP = "d, w, r, dw, dr, wr, dwr, dWr (with alpha), a weight string like d1_w8_r1 or d1_w8_g8_r1"


@dataclass(frozen=True)
class Strategy:
    """Relative weights; ``name`` is how the user said it, ``alpha`` only for dWr."""

    name: str
    weights: tuple  # (d, w, g, r) as floats: the smallest integer ratio where there is one
    alpha: float | None = None

    @property
    def _sum(self) -> float:
        d, w, g, r = self.weights
        return d + w + r or g / 2 or 1.0

    @property
    def exponents(self) -> dict[str, float]:
        d, w, g, r = self.weights
        total = self._sum
        return {"d": d / total, "w": w / total, "r": r / total, "g": g / total}

    @cached_property
    def _powers(self) -> tuple[float, float, float, float]:
        """The power of s each multiplier is (calibration asks for factors a few dozen times)."""
        d, w, g, r = self.weights
        total = self._sum
        return d / total, w / total / 2.0, g / total / 2.0, r / total / 2.0

    def factors(self, s: float) -> dict[str, float]:
        """Multipliers of depth, width, group width and resolution for a flops factor ``s``."""
        d, w, g, r = self._powers
        return {"d": s ** d, "w": s ** w, "g": s ** g, "r": s ** r}

    def to_dict(self) -> dict:
        d, w, g, r = self.weights
        return {
            "name": self.name,
            "alpha": self.alpha,
            "weights": {"d": d, "w": w, "r": r, "g": g},
            "exponents": self.exponents,
        }

    @classmethod
    def from_dict(cls, data: dict, field: str = "plan.strategy") -> "Strategy":
        """Read a strategy back from its JSON, checked as ``parse`` checks a new one."""
        weights, name, alpha = tuple(data["weights"][k] for k in "dwgr"), data["name"], data.get("alpha")
        if not isinstance(name, str) or not all(finite_number(v) and abs(v) < 1e300 for v in weights):
            raise ScalingError(field, "needs a name and finite numeric weights d, w, g and r",
                               "a strategy as POST /plan returns it")
        if alpha is not None:
            _check_alpha(alpha, f"{field}.alpha")
        weights = tuple(float(v) for v in weights)
        check_weights(weights, name, field)
        return cls(name, weights, alpha)


def check_weights(weights: tuple, name: str, field: str = "strategy") -> None:
    """Weights the exponents can come from: finite, >= 0, scaling some of depth, width or
    resolution, and a group-width exponent of at most 1 as explicit exponents have (past it
    s ** e_g overflows: ``r1_g999999999`` at factor 2 once raised an OverflowError)."""
    d, w, g, r = weights
    if not all(math.isfinite(v) and v >= 0 for v in weights):
        raise ScalingError(field, f"{brief(name)} has a weight that is not a finite number >= 0", STRATEGY_HELP)
    total = d + w + r
    if not 0 < total < math.inf:
        raise ScalingError(field, f"{brief(name)} scales none of depth, width or resolution", STRATEGY_HELP)
    if g > total:
        raise ScalingError(field, f"{brief(name)} gives group width the exponent {g / total:.4g}, over 1",
                           "a g weight of at most d + w + r (e_g <= 1), as in d1_w8_g8_r1")


def _check_alpha(alpha, field: str = "alpha") -> float:
    if not finite_number(alpha):
        raise ScalingError(field, f"must be a number, got {brief(alpha)}", "0 <= alpha <= 1 (the paper uses 0.8)")
    if not 0.0 <= alpha <= 1.0:
        raise ScalingError(field, f"{brief(alpha)} is out of range", "0 <= alpha <= 1 (the paper uses 0.8)")
    return float(alpha)


@lru_cache(maxsize=1024)
def _dwr_weights(alpha: float) -> tuple[float, float, float, float]:
    """dWr's (d, w, g, r) weights by exact arithmetic on the decimal alpha, so alpha=0.8 gives
    exactly the reference's d1_w8_r1 (memoised: Fraction is slow and a service sees few alphas)."""
    fa = Fraction(repr(alpha))
    side = (1 - fa) / 2
    return float(side), float(fa), 0.0, float(side)


def parse(name: str, alpha: float | None = None, field: str = "strategy") -> Strategy:
    """Read a strategy name, ``dWr`` with ``alpha``, or a reference weight string, as its
    canonical strategy (module docstring): the name and weights every spelling of it shares."""
    return _canonical_strategy(_parse_as_given(name, alpha, field))


def canonical(name: str, alpha: float | None = None, field: str = "strategy") -> tuple[str, float | None]:
    """The canonical (name, alpha) of a spelling; ScalingError naming ``field`` if it is none."""
    s = parse(name, alpha, field)
    return s.name, s.alpha


def _ratio(weights: tuple) -> tuple[int, ...] | None:
    """The weights as their smallest integer ratio (None if some weight is no short decimal)."""
    fracs = [Fraction(repr(v)) for v in weights]
    if any(f.denominator > 10 ** 6 for f in fracs):
        return None
    scale = math.lcm(*(f.denominator for f in fracs))
    ints = [int(f * scale) for f in fracs]
    g = math.gcd(*ints) or 1
    return tuple(i // g for i in ints)


def _canonical_strategy(s: Strategy) -> Strategy:
    ratio = _ratio(s.weights)
    if ratio is None:
        return s
    d, w, g, r = ratio
    nonzero = {v for v in ratio if v}
    if len(nonzero) == 1:  # equal weights: the letter name (d, w, r, dw, dr, wr, dwr; g where given)
        return Strategy("".join(c for c, v in zip("dwgr", ratio) if v), tuple(float(bool(v)) for v in ratio))
    weights = tuple(float(v) for v in ratio)  # integer weights: every exponent is correctly rounded
    if g == 0 and d == r and d and w:
        alpha = Fraction(w, d + w + r)
        if Fraction(repr(float(alpha))) == alpha:  # a short decimal: dWr at that alpha, exactly
            return Strategy("dWr", weights, float(alpha))
    return Strategy("_".join(f"{c}{v}" for c, v in zip("dwgr", ratio) if v), weights)


def _parse_as_given(name: str, alpha: float | None, field: str) -> Strategy:
    if not isinstance(name, str) or not name:
        raise ScalingError(field, f"must be a strategy name, got {brief(name)}", STRATEGY_HELP)
    if len(name) > MAX_NAME_CHARS:
        raise ScalingError(field, f"{brief(name)} is {len(name)} characters long",
                           f"at most {MAX_NAME_CHARS}: {STRATEGY_HELP}")
    if name == "dWr":
        a = _check_alpha(DEFAULT_ALPHA if alpha is None else alpha)
        return Strategy("dWr", _dwr_weights(a), a)
    if alpha is not None:
        raise ScalingError("alpha", f"only applies to dWr, not to {brief(name)}",
                           "leave alpha out, or use strategy dWr")
    if _LETTERS.match(name) and len(set(name)) == len(name):
        weights = tuple(1.0 if c in name else 0.0 for c in "dwgr")
    elif _WEIGHT_STRING.match(name):
        parts = [(p[0], float(p[1:])) for p in name.split("_")]
        letters = [p[0] for p in parts]
        if len(set(letters)) != len(letters):
            raise ScalingError(field, f"{brief(name)} names a dimension twice", STRATEGY_HELP)
        given = dict(parts)
        weights = tuple(given.get(c, 0.0) for c in "dwgr")
    else:
        raise ScalingError(field, f"unknown strategy {brief(name)}", STRATEGY_HELP)
    check_weights(weights, name, field)
    return Strategy(name, weights)


def from_exponents(e_d, e_w, e_r, e_g=0.0, field: str = "exponents") -> Strategy:
    """Explicit exponents: non-negative, e_d + e_w + e_r = 1, e_g in [0, 1]."""
    values = {"e_d": e_d, "e_w": e_w, "e_r": e_r, "e_g": e_g}
    for key, v in values.items():
        if not finite_number(v) or not 0 <= v <= 1:
            raise ScalingError(f"{field}.{key}", f"must be a number in [0, 1], got {brief(v)}", "0 <= e <= 1")
    if abs(e_d + e_w + e_r - 1.0) > 1e-9:
        raise ScalingError(field, f"e_d + e_w + e_r = {e_d + e_w + e_r:g}", "exponents that sum to 1")
    return Strategy("custom", (float(e_d), float(e_w), float(e_g), float(e_r)))


def check_factor(s, field: str = "factor") -> float:
    if not finite_number(s):
        raise ScalingError(field, f"must be a number, got {brief(s)}", f"{MIN_FACTOR:g} <= factor <= {MAX_FACTOR:g}")
    if not MIN_FACTOR <= s <= MAX_FACTOR:
        raise ScalingError(field, f"{brief(s)} is out of range", f"{MIN_FACTOR:g} <= factor <= {MAX_FACTOR:g}")
    return float(s)
