"""Plans are frozen: re-plan a deterministic spread of the golden grid and compare bit for bit.

The record was written before the bulk (numpy) search replaced the one-by-one search, so these
tests hold the rewrite to identical results. CI checks every GOLDEN_EVERY-th zoo case (1564
of 10944) and every custom-spec case; ``FASTSCALE_GOLDEN_FULL=1`` (or ``python
bench/plan_golden.py``) checks the whole grid.
"""

import json
import os

import pytest

from tests.core.planning import golden_grid

GOLDEN_EVERY = 1 if os.environ.get("FASTSCALE_GOLDEN_FULL") else 7


def _mismatches(cases, want: dict) -> list[str]:
    return [key for key, kwargs in cases if golden_grid.digest(kwargs) != want[key]]


def test_golden_record_covers_the_grid():
    want = golden_grid.load()
    assert len(want) == len(golden_grid.cases()) == 10944
    assert len({k.split("|")[0] for k in want}) == 36


@pytest.mark.parametrize("rounding", golden_grid.ROUNDINGS)
def test_zoo_plans_are_unchanged(rounding):
    want = golden_grid.load()
    keys = golden_grid.ci_subset([k for k, _ in golden_grid.cases()], GOLDEN_EVERY)
    chosen = set(keys)
    cases = [(k, kw) for k, kw in golden_grid.cases() if k in chosen and kw["rounding"] == rounding]
    assert cases
    bad = _mismatches(cases, want)
    assert not bad, f"{len(bad)} of {len(cases)} plans changed, e.g. {bad[:5]}"


def test_custom_spec_plans_are_unchanged():
    doc = json.loads(golden_grid.CUSTOM_PATH.read_text())
    cases = golden_grid.custom_cases(doc["specs"])
    want = dict(zip((k for k, _ in cases), doc["digests"].split()))
    assert len(want) == len(cases)
    bad = _mismatches(cases, want)
    assert not bad, f"{len(bad)} of {len(cases)} plans changed, e.g. {bad[:5]}"
