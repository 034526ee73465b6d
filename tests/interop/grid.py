"""The grid the exports are held to: every exportable reference zoo base (the 36 paper models;
ConvNeXt and ViT, which have no pycls rounding, are held by test_token_exports.py) x every named
strategy x factors 1.5, 4 and 16 x both roundings, and what each library makes of each plan (shared by the tests and
bench/interop/grid_coverage.py)."""

from __future__ import annotations

import itertools
from functools import lru_cache

from fastscale import make_plan, zoo
from fastscale.interop.export import FORMATS, reasons
from fastscale.strategies import NAMED

FACTORS = (1.5, 4, 16)
ROUNDINGS = ("nearest", "pycls")
LIBRARIES = ("torchvision", "timm")


@lru_cache(maxsize=64)
def plans(base: str) -> tuple:
    return tuple(make_plan(model=base, strategy=s, factor=f, rounding=r)
                 for s, f, r in itertools.product(NAMED, FACTORS, ROUNDINGS))


def bases() -> list[str]:
    """Zoo bases at least one library format can export (all 36 today)."""
    return [b for b in zoo.paper_names() if any(reasons(p)[lib] is None for p in plans(b)[:1] for lib in FORMATS)]


def coverage() -> dict:
    """library -> (plans expressed, {reason head: count}) over the grid."""
    out = {lib: [0, {}] for lib in (*LIBRARIES, "pycls")}
    for base in zoo.paper_names():
        for plan in plans(base):
            for lib, why in reasons(plan).items():
                if why is None:
                    out[lib][0] += 1
                else:
                    head = why.split(";")[0].split(" (")[0][:90]
                    out[lib][1][head] = out[lib][1].get(head, 0) + 1
    return out
