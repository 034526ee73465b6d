"""The results page in a real browser: headless Chromium signs in with the login form, loads /ui,
follows the link to a sweep that real workers measured, and finds the rendered table and a loaded
plot. Screenshots go to /tmp/fastscale-ui-*.png for a person to look at."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from fastscale_client import Client
from service.access.auth import hash_key
from service.redis.embedded import free_port
from tests.browser import Chromium, missing_reason
from tests.service_helpers import TINY_PROFILE, TINY_SPEC, ApiProcess, WorkerProcess, settings_for

pytestmark = pytest.mark.skipif(missing_reason() is not None, reason=missing_reason() or "")
KEY = "browser-test-key-0123456789abcdef"
SHOTS = Path("/tmp")


@pytest.fixture
def finished_sweep(redis_url):
    settings = settings_for(redis_url)
    api = ApiProcess(settings, free_port(), {"FASTSCALE_API_KEY_HASHES": hash_key(KEY)}).wait_ready()
    worker = WorkerProcess(settings).wait_registered()
    try:
        with Client(api.url, api_key=KEY) as client:
            created = client.sweep(spec=TINY_SPEC, strategies=["w", "dWr"], factors=[1, 2],
                                   profile={**TINY_PROFILE, "device": "cpu-test", "modes": ["inference", "training"],
                                            "time_budget_s": 0.3})
            sweep = client.wait_sweep(created.id, 180)
        assert sweep.status == "finished"
        yield api, sweep
    finally:
        worker.stop()
        api.stop()


def test_a_browser_signs_in_follows_a_sweep_link_and_sees_its_table_and_plot(finished_sweep, tmp_path):
    api, sweep = finished_sweep
    browser = Chromium(tmp_path / "chromium-profile")
    try:
        browser.go(api.url + "/ui")
        assert browser.js("location.pathname") == "/ui/login"  # no key yet: sent to the login form
        browser.act_and_wait(f"document.querySelector('input[name=api_key]').value = {KEY!r};"
                             "document.querySelector('form[action=\"/ui/login\"]').submit()")
        assert browser.js("location.pathname") == "/ui"
        browser.screenshot(SHOTS / "fastscale-ui-index.png")
        links = browser.js("[...document.querySelectorAll('a.sweep-link')].map(a => a.getAttribute('href'))")
        assert links == [f"/ui/sweep/{sweep.id}"]
        browser.act_and_wait("document.querySelector('a.sweep-link').click()")
        assert browser.js("location.pathname") == f"/ui/sweep/{sweep.id}"
        cells = browser.js("[...document.querySelectorAll('#rows tr')].slice(1).map(tr => [...tr.cells].map(td => td.innerText))")
        assert len(cells) == 4
        by_row = {(row[0], float(row[1])): row for row in cells}
        for r in sweep.rows:
            row = by_row[(r.label, r.factor)]
            assert float(row[6].split()[0]) == pytest.approx(r.inference_ms, abs=5e-4)  # the measured times, as rendered
            assert float(row[7].split()[0]) == pytest.approx(r.training_ms, abs=5e-4) and row[8] == "finished"
            assert f"n={r.inference_n}" in row[6] and r.inference_stop_reason in row[6]  # each with its n and stop
        image = browser.js("(async () => { const i = document.querySelector('img#plot'); if (!i.complete)"
                           " await new Promise(r => { i.onload = r; i.onerror = r; });"
                           " return [i.naturalWidth, i.naturalHeight]; })()")
        assert image[0] > 400 and image[1] > 200, image  # a real PNG, decoded by the browser
        shot = browser.screenshot(SHOTS / "fastscale-ui-sweep.png")
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert browser.js("document.querySelector('header').innerText").count("sign out") == 1  # keys are on
        _profile_page(browser, api, sweep)
        browser.go(api.url + "/ui/plan?model=RegNetY-400MF&strategy=dWr&factor=4")
        assert browser.js("document.querySelectorAll('#plan tr').length") >= 5
        assert browser.js("document.querySelector('select#strategy').value") == "dWr"
        assert browser.js("document.querySelectorAll('#memory tr').length") == 3
        # The page's CSP (default-src 'none') forbids a script's fetch, so the link is followed from here.
        exported = httpx.get(browser.js("document.querySelector('a#export').href"), headers={"X-API-Key": KEY}).text
        assert "MODEL:" in exported and "DATASET: imagenet" in exported
        browser.screenshot(SHOTS / "fastscale-ui-plan.png")
        browser.go(api.url + "/ui/plan?model=NoSuchNet&strategy=DWR&factor=x")
        assert browser.js("document.querySelectorAll('ul.errors li').length") == 3
        browser.act_and_wait("document.querySelector('a[href=\"/ui/compare\"]').click()")
        browser.go(api.url + "/ui/compare?model=EfficientNet-B0&factor=4")
        assert browser.js("document.querySelectorAll('#strategies tr').length") == 9  # a header and 8 strategies
        size = browser.js("(() => { const r = document.querySelector('#growth svg').getBoundingClientRect();"
                          " return [r.width, r.height]; })()")
        assert size[0] > 400 and size[1] > 100, size  # the growth figure, drawn
        browser.screenshot(SHOTS / "fastscale-ui-compare.png")
    finally:
        browser.close()


def _profile_page(browser, api, sweep) -> None:
    """A row's profile page: its times with n and stop reason, predicted memory, the architecture,
    and links to its JSON, its config.yaml and back to its sweep."""
    row = sweep.rows[0]
    browser.go(api.url + f"/ui/profile/{row.profile_id}")
    hrefs = browser.js("[...document.querySelectorAll('#links a')].map(a => a.getAttribute('href'))")
    assert f"/profile/{row.profile_id}" in hrefs and f"/profile/{row.profile_id}/config.yaml" in hrefs
    assert f"/ui/sweep/{sweep.id}" in hrefs
    measured = browser.js("[...document.querySelectorAll('#measured tr')].slice(1).map(tr => tr.innerText)")
    assert measured and all("n=" in line for line in measured)
    assert browser.js("document.querySelectorAll('#architecture tr').length") > 2
    browser.screenshot(SHOTS / "fastscale-ui-profile.png")
