"""Hostile pycls specs get a clean ScalingError (422 at the API) after bounded work (issue 13, 1 and 12).

The core raises; the API maps ScalingError to 422. Each case here was a 500, a RecursionError or
gigabytes of memory before, and must stay a fast, short refusal naming the field.
"""

from __future__ import annotations

import time
import tracemalloc

import pytest
import yaml

from fastscale import pycls
from fastscale.errors import ScalingError
from fastscale.planning.planner import make_plan
from tests.core.pycls.pycls_expected import config_text

R56 = config_text("configs/archive/cifar/anynet/R-56_nds_1gpu.yaml")


def alias_bomb(levels: int = 8, width: int = 9) -> str:
    """About 450 bytes that expand to width**levels values for anything that walks them."""
    lines = ["a0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * width)}]" for i in range(1, levels + 1)]
    return "MODEL:\n  TYPE: anynet\nDESC: *a%d\n" % levels + "\n".join(lines) + "\n"


def refused(spec, **kwargs) -> ScalingError:
    started = time.perf_counter()
    with pytest.raises(ScalingError) as err:
        make_plan(spec=spec, factor=2, **kwargs)
    assert time.perf_counter() - started < 1.0
    assert len(str(err.value)) < 400  # echoed values are cut, never a whole expanded structure
    return err.value


def test_alias_bomb_is_refused_before_it_is_built():
    text = alias_bomb()
    assert len(text) < 600
    tracemalloc.start()
    try:
        err = refused(text)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert err.field == "spec" and "alias" in err.message
    assert peak < 5_000_000


def test_any_alias_is_refused_even_a_small_one():
    text = R56.replace("  WIDTHS: [16, 32, 64]", "  WIDTHS: &w [16, 32, 64]") + "DESC: *w\n"
    assert "alias" in refused(text).message


@pytest.mark.parametrize("text", ["[" * 5000, "a:\n" + "".join(" " * i + "b:\n" for i in range(1, 40)) + " " * 40 + "1",
                                  "- " * 3000 + "1", "{a: " * 2000 + "1" + "}" * 2000])
def test_deep_nesting_is_a_clean_refusal(text):
    assert refused(text).field == "spec"


def test_deep_nesting_in_a_parsed_spec_is_a_clean_refusal():
    deep = 1
    for _ in range(5000):
        deep = [deep]
    err = refused({"MODEL": {"TYPE": "anynet"}, "DESC": deep})
    assert err.field.startswith("spec.DESC") and "deeper" in err.message


def test_too_many_values_are_refused():
    assert "more than" in refused(R56 + "DESC: [" + ", ".join(["1"] * 6000) + "]\n").message
    assert "more than" in refused({**yaml.safe_load(R56), "DESC": list(range(6000))}).message


@pytest.mark.parametrize("value", ["abc", "[1]", "-8", "100.5", "100.0", "8", "5000", "null", "{a: 1}"])
@pytest.mark.parametrize("as_text", [True, False])
def test_bad_train_im_size_names_the_key(value, as_text):
    text = R56.replace("  IM_SIZE: 32\nTEST", f"  IM_SIZE: {value}\nTEST")
    assert text != R56
    err = refused(text if as_text else yaml.safe_load(text))
    assert err.field == "spec.TRAIN.IM_SIZE"


def test_a_fractional_size_is_never_measured_rounded():
    """100.5 is refused, as pycls refuses it; a quoted '100' reads as 100, as pycls reads it."""
    assert refused(R56.replace("IM_SIZE: 32\nTEST", "IM_SIZE: 100.5\nTEST")).field == "spec.TRAIN.IM_SIZE"
    plan = make_plan(spec=R56.replace("IM_SIZE: 32\nTEST", "IM_SIZE: '100'\nTEST"), factor=1)
    assert plan.resolution == 100 and yaml.safe_load(pycls.plan_yaml(plan))["TRAIN"]["IM_SIZE"] == 100


@pytest.mark.parametrize("text,field", [
    ("MODEL: {TYPE: anynet}\nOPTIM: {BASE_LR: .inf}\n", "spec.OPTIM.BASE_LR"),
    ("MODEL: {TYPE: anynet}\nDESC: 2020-01-01\n", "spec.DESC"),
    ("MODEL: {TYPE: anynet}\n1: x\n", "spec"),
    ("MODEL: !!python/object/apply:os.system [echo]\n", "spec"),
    ("MODEL: {TYPE: anynet}\nDESC: " + "9" * 5000 + "\n", "spec"),
    ("MODEL: [unclosed", "spec"),
    ("- MODEL", "spec"),
])
def test_values_no_config_holds_are_refused(text, field):
    assert refused(text).field == field


def test_huge_echoed_values_are_cut():
    err = refused(R56.replace("  IM_SIZE: 32\nTEST", "  IM_SIZE: [" + ", ".join(["123456"] * 3000) + "]\nTEST"))
    assert err.field == "spec.TRAIN.IM_SIZE" and len(err.message) < 200
    err = refused(R56.replace("  STRIDES: [1, 2, 2]", "  STRIDES: [1, 2, 2]\n  BOT_MULS: [" + "x" * 50_000 + "]"))
    assert err.field == "spec.ANYNET.BOT_MULS[0]" and len(err.message) < 200


def test_the_bounded_reader_still_reads_every_real_config_as_pycls_yaml_does():
    from tests.core.pycls.pycls_expected import expected

    for path in expected()["imports"]:
        assert pycls.read_text(config_text(path)).config == yaml.safe_load(config_text(path))


@pytest.mark.parametrize("key, line", [("OPTIM.BASE_LR", "OPTIM:\n  BASE_LR: 1{zeros}\n"),
                                       ("TRAIN.IM_SIZE", "TRAIN:\n  IM_SIZE: -1{zeros}\n")])
def test_an_integer_of_hundreds_of_digits_is_refused_naming_its_key(key, line):
    # Issue 23: a 310-digit integer anywhere (even OPTIM.BASE_LR) was an OverflowError, a 500.
    err = refused(R56 + line.format(zeros="0" * 320))
    assert err.field == f"spec.{key}" and "out of range" in err.message, (err.field, err.message)


def test_the_api_answers_422_naming_the_key(service):
    r = service.post("/plan", json={"spec": R56 + "OPTIM:\n  BASE_LR: 1" + "0" * 320 + "\n", "factor": 2})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "spec.OPTIM.BASE_LR", r.text
