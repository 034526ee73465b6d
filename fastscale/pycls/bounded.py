"""Reading untrusted config text and trees with bounded work.

A pycls config is a few dozen plain values. Anything far beyond that is refused *before* it is
built: YAML aliases (a 450-byte file of nested ``&a [*b, *b, ...]`` anchors expands to gigabytes
once anything walks it), more than ``MAX_NODES`` values, or nesting deeper than ``MAX_DEPTH``
(``[`` x 5000 would otherwise end in a RecursionError). The same limits apply to a config that
arrives already parsed (a JSON body), walked without recursion.
"""

from __future__ import annotations

import math

import yaml

from fastscale.errors import ScalingError

MAX_NODES = 5_000
MAX_DEPTH = 16
MAX_INT = 2**63 - 1  # what any pycls key could mean, and what every float conversion survives
ECHO_CHARS = 100
PLAIN_TYPES = (str, int, float, bool, type(None))


def short(value, limit: int = ECHO_CHARS) -> str:
    """``repr(value)`` cut to about ``limit`` characters, for error messages that echo input."""
    if isinstance(value, (dict, list)) and len(value) > 8:
        # repr of a huge (or shared, alias-expanded) container is itself the attack: never build it whole.
        return f"a {'mapping' if isinstance(value, dict) else 'list'} of {len(value)} entries"
    text = repr(value) if not isinstance(value, str) or len(value) <= limit else repr(value[:limit])
    return text if len(text) <= limit else text[: limit - 3] + "..."


# libyaml where PyYAML has it (about 10x faster), else PyYAML's own parser; both the safe loader.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _check_events(text: str, field: str) -> None:
    """One pass over the parser's events, before any node or object exists: refuse aliases, and
    stop at the first value past ``MAX_NODES`` or the first collection deeper than ``MAX_DEPTH``."""
    nodes = depth = 0
    for event in yaml.parse(text, Loader=_LOADER):
        if isinstance(event, yaml.AliasEvent):
            raise ScalingError(field, f"uses a YAML alias (*{str(event.anchor)[:40]}) on line "
                               f"{event.start_mark.line + 1}", "plain YAML without anchors and aliases")
        if isinstance(event, (yaml.ScalarEvent, yaml.CollectionStartEvent)):
            nodes += 1
            if nodes > MAX_NODES:
                raise ScalingError(field, f"has more than {MAX_NODES} YAML values", "a pycls config (a few dozen)")
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise ScalingError(field, f"nests deeper than {MAX_DEPTH} levels", "a pycls config (3 levels)")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def load_yaml(text: str, field: str = "spec"):
    """Parse YAML text as pycls does (the safe loader), within the limits above."""
    try:
        _check_events(text, field)
        data = yaml.load(text, Loader=_LOADER)  # noqa: S506 - a safe loader
    except (yaml.YAMLError, ValueError, OverflowError) as exc:
        if isinstance(exc, ScalingError):
            raise
        # ValueError: a scalar YAML resolves but Python cannot build (an int of 5000 digits, 2020-13-45).
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ScalingError(field, f"is not valid YAML ({first[:ECHO_CHARS]})", "a pycls config") from None
    check_tree(data, field)
    return data


def check_tree(data, field: str = "spec") -> None:
    """Refuse a parsed config that is too large or deep, or holds anything but plain JSON values.

    Walks with an explicit stack, so a deep tree cannot exhaust Python's recursion limit. Mapping
    keys must be strings (pycls keys are), floats finite (the plan travels as strict JSON).
    """
    stack = [(data, field, 1)]
    nodes = 0
    while stack:
        value, where, depth = stack.pop()
        nodes += 1
        if nodes > MAX_NODES:
            raise ScalingError(field, f"has more than {MAX_NODES} values", "a pycls config (a few dozen)")
        if depth > MAX_DEPTH:
            raise ScalingError(where, f"nests deeper than {MAX_DEPTH} levels", "a pycls config (3 levels)")
        if isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, str):
                    raise ScalingError(where, f"has a key that is not a name: {short(key)}", "SECTION.KEY names")
                stack.append((item, f"{where}.{key[:ECHO_CHARS]}", depth + 1))
        elif isinstance(value, list):
            stack.extend((item, f"{where}[{i}]", depth + 1) for i, item in enumerate(value))
        elif not isinstance(value, PLAIN_TYPES):
            raise ScalingError(where, f"holds a {type(value).__name__}, which no pycls key takes",
                               "strings, numbers, booleans, null, lists and mappings")
        elif isinstance(value, float) and not math.isfinite(value):
            raise ScalingError(where, f"is {value!r}", "finite numbers only")
        elif isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT:
            # A 310-digit integer became an OverflowError (a 500) wherever a float was made of it.
            raise ScalingError(where, f"is an integer of {len(str(abs(value)))} digits, out of range",
                               f"integers of magnitude at most {MAX_INT} (2**63 - 1)")
