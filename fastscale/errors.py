"""The one error type of the scaling core, and how it echoes what it was given.

Every bad value the core rejects raises ``ScalingError`` naming the field and what is allowed,
so the API can turn it into a 422 and the CLI into one line on stderr without guessing. Values
are echoed with ``brief``: at most about 100 characters, built without ever forming the full
repr of a huge or deeply nested value (a YAML alias bomb once made a 280 MB error message).
"""

from __future__ import annotations

import math
import reprlib
from itertools import islice

BRIEF_CHARS = 100


class _Brief(reprlib.Repr):
    """reprlib with small limits, and no step that walks or sorts a whole container."""

    def __init__(self):
        super().__init__()
        self.maxlevel = 3
        self.maxlist = self.maxtuple = self.maxset = self.maxfrozenset = self.maxdeque = self.maxarray = 5
        self.maxdict, self.maxstring, self.maxother, self.maxlong = 4, 60, 60, 40

    def repr_int(self, x, level):
        # repr() of a huge int is slow, and refused past 4300 digits: say how big it is instead.
        return f"<integer of {x.bit_length()} bits>" if x.bit_length() > 128 else super().repr_int(x, level)

    def repr_dict(self, x, level):
        if not x:
            return "{}"
        if level <= 0:
            return "{...}"
        pieces = [f"{self.repr1(k, level - 1)}: {self.repr1(v, level - 1)}" for k, v in islice(x.items(), self.maxdict)]
        return "{" + ", ".join(pieces + (["..."] if len(x) > self.maxdict else [])) + "}"

    def repr_set(self, x, level):
        return self._repr_iterable(x, level, "{", "}", self.maxset)

    def repr_frozenset(self, x, level):
        return self._repr_iterable(x, level, "frozenset({", "})", self.maxfrozenset)

    def repr_instance(self, x, level):
        if isinstance(x, (bytes, bytearray)):
            return repr(x[: self.maxstring]) + ("..." if len(x) > self.maxstring else "")
        return super().repr_instance(x, level)


_BRIEF = _Brief()


def brief(value, limit: int = BRIEF_CHARS) -> str:
    """A repr of ``value`` cut to about ``limit`` characters, cheap however big the value is."""
    try:
        text = _BRIEF.repr(value)
    except Exception:  # a repr that fails must not turn a 422 into a 500
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def finite_number(value) -> bool:
    """A real, finite number, not a bool. Huge ints count, and are never turned into floats
    (``math.isfinite(10**400)`` raises OverflowError)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return isinstance(value, int) or math.isfinite(value)


class ScalingError(ValueError):
    """A request the core cannot plan: ``field`` names the input, ``allowed`` says the fix."""

    def __init__(self, field: str, message: str, allowed: str | None = None):
        self.field = field
        self.message = message
        self.allowed = allowed
        text = f"{field}: {message}"
        if allowed:
            text += f" (allowed: {allowed})"
        super().__init__(text)

    def to_dict(self) -> dict:
        return {"field": self.field, "message": self.message, "allowed": self.allowed}
