"""A constructor call as JSON, and its two readings: Python source (the snippet) and the object.

A recipe's ``kwargs`` are JSON values, where an object ``{"call": "pkg.mod.fn", "args": [...],
"kwargs": {...}}`` stands for calling ``fn`` and ``{"ref": "pkg.mod.Name"}`` for the object
itself (a block class, say). Both name only the recipe's library, torch or builtins: ``realize``
refuses anything else, so a stored recipe cannot make a worker import or call arbitrary code.
"""

from __future__ import annotations

import importlib
import re

ROOTS = ("torchvision", "timm", "torch", "builtins")
_DOTTED = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")


def call(path: str, *args, **kwargs) -> dict:
    node: dict = {"call": path}
    if args:
        node["args"] = list(args)
    if kwargs:
        node["kwargs"] = kwargs
    return node


def ref(path: str) -> dict:
    return {"ref": path}


def _check(path) -> str:
    if not isinstance(path, str) or not _DOTTED.match(path) or path.split(".")[0] not in ROOTS:
        raise ValueError(f"{path!r} is not a dotted name under {', '.join(ROOTS)}")
    return path


def resolve(path: str):
    """The object at ``pkg.mod.Name`` (imports the longest importable module prefix)."""
    parts = _check(path).split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:]:
            obj = getattr(obj, name)
        return obj
    raise ValueError(f"cannot import {path}")


def realize(value):
    """The Python value a JSON recipe value stands for (calls made, references resolved)."""
    if isinstance(value, list):
        return [realize(v) for v in value]
    if isinstance(value, dict):
        if "call" in value:
            fn = resolve(value["call"])
            return fn(*realize(value.get("args", [])), **{k: realize(v) for k, v in value.get("kwargs", {}).items()})
        if "ref" in value:
            return resolve(value["ref"])
        return {k: realize(v) for k, v in value.items()}
    return value


def modules(value) -> set[str]:
    """The modules the Python source of ``value`` imports."""
    out: set[str] = set()
    if isinstance(value, list):
        for v in value:
            out |= modules(v)
    elif isinstance(value, dict):
        for key in ("call", "ref"):
            if key in value and not value[key].startswith("builtins."):
                out.add(value[key].rsplit(".", 1)[0])
        for v in [*value.get("args", []), *value.get("kwargs", {}).values()] if ("call" in value) else value.values():
            out |= modules(v)
    return out


def source(value, indent: int = 0) -> str:
    """Python source for a JSON recipe value."""
    pad = " " * (indent + 4)
    if isinstance(value, dict) and ("call" in value or "ref" in value):
        name = value.get("call") or value["ref"]
        name = name.removeprefix("builtins.")
        if "ref" in value:
            return name
        args = [source(a, indent + 4) for a in value.get("args", [])]
        args += [f"{k}={source(v, indent + 4)}" for k, v in value.get("kwargs", {}).items()]
        one_line = f"{name}({', '.join(args)})"
        if len(one_line) + indent <= 116:
            return one_line
        return f"{name}(\n" + "".join(f"{pad}{a},\n" for a in args) + " " * indent + ")"
    if isinstance(value, list):
        items = [source(v, indent + 4) for v in value]
        one_line = f"[{', '.join(items)}]"
        if len(one_line) + indent <= 116:
            return one_line
        return "[\n" + "".join(f"{pad}{i},\n" for i in items) + " " * indent + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {source(v, indent + 4)}" for k, v in value.items()) + "}"
    return repr(value)
