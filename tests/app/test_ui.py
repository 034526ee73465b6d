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
    assert "sign out" in api.get("/ui").text  # with keys on there is something to sign out of
    assert api.get("/profiles").status_code == 401  # the cookie opens the pages only, never the API
    api.post("/ui/logout", headers={"origin": "http://testserver"})
    assert api.get("/ui", follow_redirects=False).status_code == 303


def _finish(service, pid: str, ms: float, stable: bool, n: int, stop: str) -> None:
    """Finish a queued profile through the real store (its times planted, the way tests.app.test_sweeps does)."""
    import redis as redis_lib

    from service.profiles.store import ProfileStore

    store = ProfileStore(redis_lib.Redis.from_url(service.settings.redis_url), service.settings.key_prefix)
    rec = store.get(pid)
    assert store.start(pid, rec["run"], "planter", rec["attempt"])
    result = {"inference": {"median_ms": ms, "stable": stable, "n": n, "stop_reason": stop,
                            "predicted_memory_bytes": 123_000_000, "peak_memory_bytes": 120_000_000},
              "device": {"name": "test CPU", "torch": "x"}}
    store.finish(pid, rec["run"], result, rec["attempt"])


def test_every_time_shows_n_stop_reason_and_stability_and_the_profile_links_out(service):
    """Issue 24: index, sweep and profile pages show each time with n, stop reason and stability;
    the profile links its JSON, config.yaml, its sweep and the comparison, shows the architecture,
    predicted memory and the growth figure; sign-out hides while auth is off."""
    register_idle_worker(service.settings, "cpu-test")
    sid = service.post("/sweep", json={"model": "ResNet-50", "strategies": ["w", "dwr"], "factors": [2],
                                       "profile": PROFILE}).json()["id"]
    rows = service.get(f"/sweep/{sid}").json()["rows"]
    _finish(service, rows[0]["profile_id"], 12.5, True, 40, "converged")
    _finish(service, rows[1]["profile_id"], 30.25, False, 10, "budget")
    index = service.get("/ui").text
    assert "n=40, converged" in index and "n=10, budget, unstable" in index and 'class="unstable"' in index
    assert "sign out" not in index  # no API keys configured: nothing to sign out of
    assert '<option value="dwr"' in index and '<option value="dWr"' in index  # a strategy select
    sweep = service.get(f"/ui/sweep/{sid}").text
    assert "n=40, converged" in sweep and "n=10, budget, unstable" in sweep
    assert f'href="/sweep/{sid}"' in sweep and 'id="compare-link"' in sweep
    assert "No analysis:" in sweep or "Left out as unstable" in sweep or 'id="analysis"' in sweep
    pid = rows[0]["profile_id"]
    page = service.get(f"/ui/profile/{pid}").text
    for link in (f'href="/profile/{pid}"', f'href="/profile/{pid}/config.yaml"', f'href="/ui/sweep/{sid}"',
                 'id="compare-link"'):
        assert link in page, link
    assert 'id="architecture"' in page and "123.00 MB" in page  # the predicted memory beside the measured
    assert 'id="growth"' in page and "<svg" in page and "converged" in page


def test_a_sweep_without_enough_stable_models_says_why_it_has_no_correlation(service):
    register_idle_worker(service.settings, "cpu-test")
    sid = service.post("/sweep", json={"model": "ResNet-50", "strategies": ["d"], "factors": [2],
                                       "profile": PROFILE}).json()["id"]
    _finish(service, service.get(f"/sweep/{sid}").json()["rows"][0]["profile_id"], 9.0, False, 10, "budget")
    doc = service.get(f"/sweep/{sid}").json()
    note = doc["analysis"]["points"]["inference"]["note"]
    assert note and note.split(":")[0] in service.get(f"/ui/sweep/{sid}").text  # the API's reason, on the page


def test_the_comparison_page_shows_every_strategy_and_the_growth_figure(service):
    from fastscale import strategies

    r = service.get("/ui/compare", params={"model": "EfficientNet-B0", "factor": "4"})
    assert r.status_code == 200
    for name in strategies.NAMED:
        plan = make_plan("EfficientNet-B0", strategy=name, factor=4)
        assert f"<tr><td>{plan.strategy.name}</td>" in r.text, name  # one row per strategy, from the core's plan
    assert r.text.count('<tr><td>') >= len(strategies.NAMED) and 'id="growth"' in r.text and "<svg" in r.text
    assert "flops growth" in r.text and "acts growth" in r.text  # the paper's panels
    bad = service.get("/ui/compare", params={"model": "NoSuchNet", "factor": "5000"})
    assert bad.status_code == 422 and bad.text.count("<li><code>") == 2  # both errors at once


def test_the_plan_calculator_shows_memory_every_error_and_exports(service):
    r = service.get("/ui/plan", params={"model": "RegNetY-400MF", "strategy": "dwr", "factor": "4", "batch_size": "32"})
    assert r.status_code == 200 and 'id="memory"' in r.text and 'id="export"' in r.text
    assert '<option value="dwr" selected>' in r.text
    from fastscale.memory import plan_memory

    mem = plan_memory(make_plan("RegNetY-400MF", strategy="dwr", factor=4), 32, "float32")
    from app.ui.routes import si

    assert si(mem["training"]["predicted_bytes"], "B") in r.text
    exported = service.get("/ui/plan/config.yaml", params={"model": "RegNetY-400MF", "strategy": "dwr", "factor": "4"})
    assert exported.status_code == 200 and "TRAIN:" in exported.text and "DATASET: imagenet" in exported.text
    bad = service.get("/ui/plan", params={"model": "NoSuchNet", "strategy": "DWR", "factor": "x"})
    assert bad.status_code == 422 and bad.text.count("<li><code>") == 3  # model, strategy and factor, all at once
