"""Issue 13, item 12: no request field reaches a 500. Boundary values for every field the API
accepts beside the core's own (strategy strings and image sizes are tested with the core): each
answer is below 500, or a 503 that says to retry (no worker, queue full)."""

from __future__ import annotations

import pytest

from tests.service_helpers import TINY_SPEC, register_idle_worker

NUMBERS = [0, -1, 1e-320, 1e-30, 0.0625, 1, 2, 1023.9, 1024, 1e6, 1e308, -1e308, 2**63, 2**64 + 1, 10**40, True,
           "x", None, [], {}]
PROFILE = {"device": "cpu-test", "batch_size": 2}
PROFILE_VALUES = {"batch_size": [0, 1, 1024, 1025, 2**63, -1, 1.5], "time_budget_s": [0, 1e-300, 1e308, 120, 121, -1],
                  "dtype": ["float16", "int8"], "modes": [[], ["training"], ["x"]], "cuda_graphs": [True],
                  "device": ["cpu", "cuda", "auto", "cpu-test", "cpu-" + "a" * 90], "find_max_batch": [True]}


def requests():
    base = {"spec": TINY_SPEC, "factor": 2}
    for field in ("factor", "target_flops", "alpha", "resolution"):
        for value in NUMBERS:
            body = {k: v for k, v in {**base, field: value}.items() if not (field == "target_flops" and k == "factor")}
            yield "/plan", body
            yield "/plan", {**body, "model": "ResNet-50", "spec": None}
    for exponents in ({"e_d": 1}, {"e_g": 1, "e_w": 1}, {"e_d": 0.5, "e_w": 0.5, "e_g": 1}, {"e_d": 1e-300, "e_w": 1}, {}):
        yield "/plan", {"model": "ResNet-50", "exponents": exponents, "factor": 4}
    for key, values in PROFILE_VALUES.items():
        for value in values:
            yield "/scale", {**base, "profile": {**PROFILE, key: value}}
    for factors in ([1e308], [0], [-1], [1e-300], [2, 2], [1] * 16, [1] * 17, [True], [2**64]):
        yield "/sweep", {"spec": TINY_SPEC, "strategies": ["d"], "factors": factors, "profile": PROFILE}
    for entries in ([{"strategy": "dWr", "alpha": 1e308}], [{"strategy": "dWr", "alpha": -1}], ["x"], ["d"] * 13):
        yield "/sweep", {"spec": TINY_SPEC, "strategies": entries, "factors": [2], "profile": PROFILE}
    for extra in ({"target_flops": 1e308}, {"target_flops": 1e-300}, {"latency_budget_ms": 1e308},
                  {"latency_budget_ms": 1e-300}, {"latency_budget_ms": 40, "min_factor": 1e-300},
                  {"latency_budget_ms": 40, "max_factor": 1e308}, {"latency_budget_ms": 40, "min_factor": 64, "max_factor": 1},
                  {"latency_budget_ms": 40, "tolerance": 1}, {}, {"target_flops": 1e9, "latency_budget_ms": 4},
                  {"latency_budget_ms": 40, "alpha": 1e308, "strategy": "dWr"}):
        yield "/recommend", {"spec": TINY_SPEC, "profile": PROFILE, **extra}


def test_no_field_value_reaches_a_server_error(service):
    register_idle_worker(service.settings, "cpu-test")
    errors = []
    for path, body in requests():
        r = service.post(path, json=body)
        if r.status_code >= 500 and not (r.status_code == 503 and r.headers.get("retry-after")):
            errors.append((path, body, r.status_code, r.text[:200]))
    assert not errors, errors[:5]


@pytest.mark.parametrize("path", ["/models/" + "x" * 500, "/models/%ff", "/profile/" + "0" * 32 + "/config.yaml",
                                  "/sweep/" + "0" * 32 + "/plot.png", "/recommend/" + "0" * 32])
def test_odd_paths_are_client_errors(service, path):
    assert 400 <= service.get(path).status_code < 500
