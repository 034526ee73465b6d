"""The pycls test data: real config files and what pycls (commit 5719de6) made of them.

See tests/data/pycls/README.md for where each value comes from and how it was derived.
"""

from __future__ import annotations

import json
from functools import lru_cache

from tests.paths import DATA

PYCLS_DATA = DATA / "pycls"


@lru_cache(maxsize=1)
def expected() -> dict:
    return json.loads((PYCLS_DATA / "expected" / "pycls_5719de6.json").read_text())


def config_text(path: str) -> str:
    """A stored pycls config by its path in the pycls repository (``configs/...``)."""
    return (PYCLS_DATA / path).read_text()


def scale_cases() -> list[tuple[str, str, int]]:
    return [(p, s, int(f)) for p, s, f in (key.split("|") for key in expected()["scaled"])]


STRATEGY = {"d1_w8_r1": "dWr"}  # pycls's spelling of fast compound scaling -> fastscale's name
