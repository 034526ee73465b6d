"""The /ui pages rendered by the real app (the browser test is tests/system/test_ui_browser.py):
filters, escaping of everything typed, the plan calculator, and the API's keys via the login form."""

from __future__ import annotations

from fastscale.planning.planner import make_plan
from service.access.auth import hash_key
from tests.service_helpers import TINY_PROFILE, register_idle_worker

PROFILE = {**TINY_PROFILE, "device": "cpu-test", "modes": ["inference"]}
KEY = "ui-test-key-0123456789abcdef"


def test_index_lists_and_filters_profiles_and_sweeps(service):
    register_idle_worker(service.settings, "cpu-test")
    pid = service.post("/scale", json={"model": "ResNet-50", "strategy": "w", "factor": 2, "profile": PROFILE}).json()["id"]
    other = service.post("/scale", json={"model": "RegNetY-400MF", "factor": 2, "profile": PROFILE}).json()["id"]
    sid = service.post("/sweep", json={"model": "ResNet-50", "strategies": ["w"], "factors": [2], "profile": PROFILE}).json()["id"]
    page = service.get("/ui")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert f'href="/ui/profile/{pid}"' in page.text and f'href="/ui/profile/{other}"' in page.text
    assert f'href="/ui/sweep/{sid}"' in page.text
    filtered = service.get("/ui", params={"model": "RegNetY-400MF"}).text
    assert other in filtered and f"/ui/profile/{pid}" not in filtered
    detail = service.get(f"/ui/profile/{pid}").text
    assert "ResNet-50" in detail and "queued" in detail and 'http-equiv="refresh"' in detail
    sweep = service.get(f"/ui/sweep/{sid}").text
    assert 'id="rows"' in sweep and pid in sweep  # the sweep's row is that same profile (deduped)


def test_everything_typed_is_escaped(service):
    evil = '<script>alert("x")</script>'
    page = service.get("/ui", params={"model": evil, "strategy": '"><img src=x onerror=alert(1)>'}).text
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
    plan = service.get("/ui/plan", params={"model": evil, "strategy": "dWr", "factor": "4"})
    assert plan.status_code == 422 and "<script>alert" not in plan.text and "&lt;script&gt;" in plan.text
    missing = service.get("/ui/profile/<b>nope")
    assert missing.status_code == 404 and "<b>nope" not in missing.text


def test_plan_calculator_shows_the_plan_and_prediction_state(service):
    r = service.get("/ui/plan", params={"model": "RegNetY-400MF", "strategy": "dWr", "factor": "4"})
    assert r.status_code == 200
    expected = make_plan("RegNetY-400MF", strategy="dWr", factor=4)  # the core's own figures
    assert f"{expected.resolution}" in r.text and 'id="plan"' in r.text
    assert "No time prediction yet" in r.text  # nothing measured here: said plainly, not invented
    bad = service.get("/ui/plan", params={"model": "RegNetY-400MF", "factor": "5000"})
    assert bad.status_code == 422 and "factor" in bad.text and "1024" in bad.text
    assert service.get("/ui/plan").status_code == 200  # the empty form


def test_pages_follow_the_api_keys_by_header_or_login_cookie(service_with):
    api = service_with(api_key_hashes=[hash_key(KEY)])
    assert api.get("/profiles").status_code == 401
    first = api.get("/ui", follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"] == "/ui/login"
    assert api.get("/ui", headers={"X-API-Key": KEY}).status_code == 200
    form = {"content-type": "application/x-www-form-urlencoded", "origin": "http://testserver"}
    wrong = api.post("/ui/login", content="api_key=wrong-key-000000000", headers=form)
    assert wrong.status_code == 401 and "not one of this server" in wrong.text
    ok = api.post("/ui/login", content=f"api_key={KEY}", headers=form, follow_redirects=False)
    assert ok.status_code == 303
    cookie = ok.headers["set-cookie"]
    assert "httponly" in cookie.lower() and "samesite=strict" in cookie.lower() and "path=/ui" in cookie.lower()
    assert api.get("/ui").status_code == 200  # the client keeps the cookie, as a browser does
    assert api.get("/profiles").status_code == 401  # the cookie opens the pages only, never the API
    api.post("/ui/logout", headers={"origin": "http://testserver"})
    assert api.get("/ui", follow_redirects=False).status_code == 303
