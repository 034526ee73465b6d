"""Every value the core echoes in an error is cut to about 100 characters (issue 13, item 1).

The values here could not be repr()'d in full in any reasonable time or memory (shared
references make them logically huge; the int is past Python's 4300-digit repr limit; the
nesting is past the recursion limit), so these tests also show the echo never builds the full
repr: if it did, they would hang, run out of memory or raise instead of passing.
"""

import pytest

from fastscale.errors import BRIEF_CHARS, ScalingError, brief
from fastscale.families import spec_from_dict
from fastscale.planning.planner import Plan, make_plan


def deep_list(levels: int) -> list:
    outer = current = []
    for _ in range(levels):
        current.append([])
        current = current[0]
    return outer


HUGE = {
    "wide": lambda: [[list(range(10**5))] * 10**4] * 10**4,  # 10**13 elements by reference
    "deep": lambda: deep_list(10**5),
    "int": lambda: 10**100000,
    "str": lambda: "x" * 10**7,
    "bytes": lambda: b"y" * 10**7,
    "dict": lambda: {i: "v" for i in range(10**6)},
    "set": lambda: set(range(10**6)),
}


@pytest.mark.parametrize("name", list(HUGE))
def test_brief_is_short_for_huge_values(name):
    text = brief(HUGE[name]())
    assert 0 < len(text) <= BRIEF_CHARS


def test_brief_keeps_small_values_whole():
    assert brief([1, 2, {"a": "b"}]) == "[1, 2, {'a': 'b'}]"
    assert brief("resnet") == "'resnet'" and brief(2.5) == "2.5" and brief(None) == "None"


def core_errors(value):
    """Each place of the core that echoes a request value, fed ``value``."""
    calls = [
        lambda: spec_from_dict({"family": "anynet", "depths": value, "widths": [8]}),
        lambda: spec_from_dict({"family": "anynet", "depths": [value], "widths": [8]}),
        lambda: spec_from_dict({"family": "anynet", "depths": [1], "widths": [8], "se_r": value}),
        lambda: spec_from_dict({"family": "anynet", "depths": [1], "widths": [8], "block_type": value}),
        lambda: spec_from_dict({"family": value}),
        lambda: spec_from_dict({"family": "regnet", "depth": 1, "w0": 8, "wa": 8, "wm": 2, "group_w": 8,
                                "se_on": value}),
        lambda: make_plan("ResNet-50", strategy=value, factor=2),
        lambda: make_plan("ResNet-50", strategy="dWr", alpha=value, factor=2),
        lambda: make_plan("ResNet-50", factor=value),
        lambda: make_plan("ResNet-50", target_flops=value),
        lambda: make_plan("ResNet-50", factor=2, rounding=value),
        lambda: make_plan("ResNet-50", factor=2, resolution=value),
        lambda: make_plan(model=value, factor=2),
        lambda: make_plan("ResNet-50", exponents={"e_d": value, "e_w": 0.5, "e_r": 0.5}, factor=2),
        lambda: Plan.from_dict({"base": value}),
    ]
    for call in calls:
        with pytest.raises(ScalingError) as err:
            call()
        yield err.value


@pytest.mark.parametrize("name", ["wide", "deep", "int", "str", "dict"])
def test_core_errors_echo_huge_values_briefly(name):
    for error in core_errors(HUGE[name]()):
        assert len(error.message) <= 2 * BRIEF_CHARS, (error.field, error.message[:300])
