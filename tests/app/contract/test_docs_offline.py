"""/docs and /redoc work without the internet: every script, style and icon they reference is served
by this API (from the installed fastapi-offline package), and nothing points at another host."""

from __future__ import annotations

import re

import pytest

ASSET = re.compile(r"""(?:src|href|spec-url)\s*=\s*["']([^"']+)["']|url:\s*'([^']+)'""")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_reference_only_local_urls_that_answer(service, page):
    r = service.get(page)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    html = r.text
    assert not re.search(r"https?://", html), "the page points at another host (a CDN?)"
    urls = {a or b for a, b in ASSET.findall(html)}
    assert "/openapi.json" in urls and any(u.endswith(".js") for u in urls)
    for url in urls:
        assert url.startswith("/") and not url.startswith("//"), url
        asset = service.get(url)
        assert asset.status_code == 200, url
        if url.endswith(".js"):
            assert len(asset.content) > 100_000 and "javascript" in asset.headers["content-type"]


def test_docs_assets_need_no_api_key(service_with):
    api = service_with(api_key_hashes=["0" * 64])
    assert api.get("/profiles").status_code == 401
    for url in ("/docs", "/redoc", "/static/docs/swagger-ui-bundle.js", "/static/docs/redoc.standalone.js"):
        assert api.get(url).status_code == 200, url
