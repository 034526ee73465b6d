"""The /ui sign-in as an attacker tries it (issue 23): a server-side session token in the cookie
(never the key), sign-in and sign-out by POST from this server's own pages only, framing and
sniffing refused, /metrics behind a key, and one failure throttle for every place a key is checked."""

from __future__ import annotations

from service.access.auth import hash_key
from tests.service_helpers import TINY_PROFILE, register_idle_worker

KEY = "ui-session-key-0123456789abcdef"
FORM = {"content-type": "application/x-www-form-urlencoded", "origin": "http://testserver"}


def sign_in(api, headers=FORM):
    return api.post("/ui/login", content=f"api_key={KEY}", headers=headers, follow_redirects=False)


def test_the_cookie_holds_a_session_token_that_sign_out_ends_on_the_server(service_with):
    api = service_with(api_key_hashes=[hash_key(KEY)])
    ok = sign_in(api)
    assert ok.status_code == 303
    token = api.cookies.get("fastscale_session")
    assert token and KEY not in ok.headers["set-cookie"] and hash_key(KEY) not in ok.headers["set-cookie"]
    assert "max-age=43200" in ok.headers["set-cookie"].lower()  # hours, not the 7 days of the key itself
    assert api.get("/ui").status_code == 200
    assert api.get("/ui/logout").status_code == 405  # a GET (an <img> on another site) signs no one out
    assert api.post("/ui/logout", headers={"origin": "https://evil.example"}).status_code == 403
    assert api.get("/ui").status_code == 200
    api.post("/ui/logout", headers={"origin": "http://testserver"})
    api.cookies.set("fastscale_session", token, path="/ui")  # a copy kept by an attacker is dead too
    assert api.get("/ui", follow_redirects=False).status_code == 303


def test_sign_in_refuses_another_sites_form(service_with):
    api = service_with(api_key_hashes=[hash_key(KEY)])
    for headers in ({**FORM, "origin": "https://evil.example"}, {"content-type": FORM["content-type"]},
                    {**FORM, "origin": "null"}):
        r = sign_in(api, headers)
        assert r.status_code == 403 and "fastscale_session" not in r.headers.get("set-cookie", ""), headers
    assert sign_in(api, {"content-type": FORM["content-type"], "referer": "http://testserver/ui/login"}).status_code == 303


def test_pages_cannot_be_framed_or_sniffed(service_with):
    api = service_with(api_key_hashes=[hash_key(KEY)])
    for path in ("/ui/login", "/ui", "/healthz"):
        h = api.get(path, follow_redirects=False).headers
        assert h["x-frame-options"] == "DENY" and h["x-content-type-options"] == "nosniff", path
        assert "frame-ancestors 'none'" in h["content-security-policy"], path


def test_metrics_need_a_key_unless_public(service_with):
    api = service_with(api_key_hashes=[hash_key(KEY)])
    assert api.get("/metrics").status_code == 401
    assert api.get("/metrics", headers={"X-API-Key": KEY}).status_code == 200
    public = service_with(api_key_hashes=[hash_key(KEY)], metrics_public=True)
    assert public.get("/metrics").status_code == 200


def test_one_failure_budget_for_readyz_ui_login_and_the_api(service_with):
    api = service_with(api_key_hashes=[hash_key(KEY)], auth_failures_per_minute=6)
    wrong = {"X-API-Key": "not-the-key-0000000000"}
    assert api.get("/readyz", headers=wrong).status_code == 200  # open to probes, but counted
    assert api.get("/readyz", headers=wrong).json().get("workers") is None
    assert api.get("/ui", headers=wrong, follow_redirects=False).status_code == 303
    api.cookies.set("fastscale_session", "a-guessed-token", path="/ui")
    assert api.get("/ui", follow_redirects=False).status_code == 303  # a guessed session counts too
    api.cookies.clear()
    assert api.post("/ui/login", content="api_key=nope", headers=FORM).status_code == 401
    assert api.get("/profiles", headers=wrong).status_code == 401  # the 6th
    right = {"X-API-Key": KEY}
    for method, path in (("GET", "/readyz"), ("GET", "/ui"), ("GET", "/profiles")):
        r = api.request(method, path, headers=right, follow_redirects=False)
        assert r.status_code == 429 and r.headers["retry-after"], (path, r.status_code)
    assert sign_in(api).status_code == 429
    assert api.get("/readyz").status_code == 200  # a probe without a key still passes


def test_the_plan_calculator_counts_against_the_rate_limit(service_with):
    api = service_with(rate_limit_per_minute=3)
    register_idle_worker(api.settings, "cpu-test")
    codes = [api.get("/ui/plan", params={"model": "ResNet-50", "strategy": "w", "factor": str(1.5 + i / 10)}).status_code
             for i in range(5)]
    assert codes[:3] == [200, 200, 200] and codes[3:] == [429, 429], codes
    assert api.get("/ui/plan").status_code == 200  # the empty form costs nothing
    assert TINY_PROFILE  # (the same settings as the other UI tests)
