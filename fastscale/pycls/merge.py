"""A config file merged into pycls's defaults with the rules pycls's config library (yacs) applies.

What a file means to pycls, key by key:
- a string value is read as a Python literal when it is one (``IM_SIZE: '128'`` is 128, and
  ``WEIGHT_DECAY: 1e-5``, a string to YAML, is the float 1e-05);
- its type must then equal the default's (``WA: 36`` is refused: the default 5.0 is a float;
  ``IM_SIZE: 100.5`` too), except that null may replace a plain value and a tuple a list;
- a key pycls does not have is refused; a deprecated one is ignored;
- a key the file leaves out keeps pycls's default (``MODEL.NUM_CLASSES`` 10, not 1000).
"""

from __future__ import annotations

import ast

from fastscale.errors import ScalingError
from fastscale.pycls.bounded import short
from fastscale.pycls.defaults import DEPRECATED, SECTIONS, TOP_LEVEL

_PLAIN = (tuple, list, str, int, float, bool, type(None))
_TYPE_NAMES = {int: "an integer", float: "a number with a decimal point", bool: "true or false",
               str: "a string", list: "a list"}


def decode(value, where: str):
    """yacs's decoding of a raw value: a string that reads as a Python literal becomes it."""
    if not isinstance(value, str):
        return value
    try:
        return ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return value
    except (RecursionError, MemoryError, TypeError):
        # pycls itself would crash here; refuse rather than guess.
        raise ScalingError(where, f"{short(value)} cannot be read as pycls reads values") from None


def coerce(value, default, where: str):
    """The value as pycls keeps it, or a ScalingError where pycls refuses the file."""
    if type(value) is type(default):
        return value
    if value is None and isinstance(default, _PLAIN):
        return None
    if isinstance(value, tuple) and isinstance(default, list):
        return list(value)
    want = _TYPE_NAMES.get(type(default), type(default).__name__)
    hint = f"{float(value)!r}" if isinstance(default, float) and type(value) is int else want
    raise ScalingError(where, f"must be {want} like pycls's default {default!r}, got {short(value)}", hint)


def effective(config: dict, field: str = "spec") -> dict[str, object]:
    """``{"SECTION.KEY": value}`` for every key pycls has: the file's decoded value, else the default."""
    values = {f"{s}.{k}": v for s, keys in SECTIONS.items() for k, v in keys.items()}
    values.update(TOP_LEVEL)
    for key, raw in config.items():
        where = f"{field}.{key}"
        if key in SECTIONS:
            if not isinstance(raw, dict):
                raise ScalingError(where, f"must be a mapping of {key} settings, got {short(raw)}",
                                   f"{key}: followed by indented KEY: value lines")
            for sub, sub_raw in raw.items():
                _merge_key(values, f"{key}.{sub}", sub_raw, f"{where}.{sub}")
        else:
            _merge_key(values, key, raw, where)
    return values


def _merge_key(values: dict, path: str, raw, where: str) -> None:
    if path not in values:
        if path in DEPRECATED or path.split(".")[0] in DEPRECATED:
            return
        raise ScalingError(where, "is not a pycls config key (pycls refuses the file)",
                           "the keys of pycls/core/config.py")
    values[path] = coerce(decode(raw, where), values[path], where)
