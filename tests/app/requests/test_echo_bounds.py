"""Issue 13, item 1: request values nested thousands deep are a 422 on every route (never a
RecursionError 500), and no error echoes more than about a hundred characters of what was sent."""

from __future__ import annotations

import json

import pytest

from tests.service_helpers import register_idle_worker

PROFILE = {"device": "cpu-test", "batch_size": 2}


def deep_list(depth: int) -> str:
    return '{"family": "anynet", "depths": ' + "[" * depth + "]" * depth + "}"


def deep_object(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


ROUTES = {
    "/plan": '{{"spec": {spec}, "factor": 2}}',
    "/scale": '{{"spec": {spec}, "factor": 2, "profile": {{"device": "cpu-test"}}}}',
    "/sweep": '{{"spec": {spec}, "factors": [2], "strategies": ["d"], "profile": {{"device": "cpu-test"}}}}',
    "/recommend": '{{"spec": {spec}, "target_flops": 1e9, "profile": {{"device": "cpu-test"}}}}',
}


@pytest.fixture
def api(service):
    register_idle_worker(service.settings, "cpu-test")
    return service


# 950 levels: json.loads reads it, then model_dump or json.dumps gave up (500 on /sweep and /recommend);
# 5000: json.loads itself gave up (a bare 400 without a field).
@pytest.mark.parametrize("depth", [20, 950, 5000])
@pytest.mark.parametrize("route", sorted(ROUTES))
def test_deeply_nested_bodies_are_a_422_on_every_route(api, route, depth):
    for spec in (deep_list(depth), deep_object(depth)):
        body = ROUTES[route].format(spec=spec)
        r = api.post(route, content=body, headers={"content-type": "application/json"})
        assert r.status_code == 422, (route, depth, r.status_code, r.text[:300])
        assert "nest" in r.json()["detail"], r.text[:300]
    assert api.get("/healthz").status_code == 200


HUGE = "Z" * 100_000


@pytest.mark.parametrize("name,body", [
    ("unknown field named by a huge key", {"model": "ResNet-50", "factor": 2, HUGE: 1}),
    ("unknown spec field named by a huge key", {"spec": {"family": "anynet", HUGE: 1}, "factor": 2}),
    ("huge family", {"spec": {"family": HUGE}, "factor": 2}),
    ("huge value in a spec list", {"spec": {"family": "anynet", "depths": [HUGE]}, "factor": 2}),
    ("huge strategy", {"model": "ResNet-50", "factor": 2, "strategy": HUGE}),
    ("huge pycls type", {"spec": {"MODEL": {"TYPE": HUGE}}, "factor": 2}),
    ("huge yaml scalar", {"spec": "MODEL:\n  TYPE: " + HUGE[:90_000] + "\n", "factor": 2}),
    ("huge device", {"model": "ResNet-50", "factor": 2, "profile": {"device": "cpu-" + "z" * 90_000}}),
])
def test_errors_echo_at_most_about_a_hundred_characters(api, name, body):
    route = "/scale" if "profile" in body else "/plan"
    r = api.post(route, json=body)
    assert r.status_code == 422, (name, r.status_code, r.text[:300])
    assert len(r.content) < 4000, (name, len(r.content))
    assert "Z" * 110 not in r.text and "z" * 110 not in r.text, name


def test_a_huge_method_token_is_echoed_short(api):
    r = api.request("X" * 5000, "/plan")
    assert r.status_code == 405 and len(r.content) < 1000
