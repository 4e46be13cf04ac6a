"""The supervisors' hot-issue page (``/console/hotspots``) in Debian's chromium: it shows the ranking from the API
and, without a reload, the appeal that arrives next (stub model, real uvicorn on loopback; slow: a browser).
The screenshot goes to tests/serve/artifacts/hotspots-<database>.png."""

from __future__ import annotations

import httpx
import pytest
from serve_helpers import ARTIFACTS, AS_DISPATCHER, TINY_SIMILAR_THRESHOLD, live_server, make_stub_dispatcher
from test_console_e2e import browser  # noqa: F401  (the chromium fixture)
from test_hotspots_api import SAME_SITE, SCHOOL, SUPERVISOR_KEY, WITH_SUPERVISOR

pytestmark = pytest.mark.slow


@pytest.fixture
def server(make_settings, monkeypatch):
    from serve.main import create_app

    monkeypatch.setenv("MINYI_SIMILAR_THRESHOLD", TINY_SIMILAR_THRESHOLD)
    app = create_app(make_settings(api_keys=WITH_SUPERVISOR), dispatcher=make_stub_dispatcher())
    with live_server(app) as url:
        yield url


def test_the_page_shows_the_ranking_and_keeps_up(browser, server, request):  # noqa: F811
    from playwright.sync_api import expect

    api = httpx.Client(base_url=server, headers=AS_DISPATCHER, timeout=60)
    for text in [*SAME_SITE[:3], SCHOOL]:
        assert api.post("/v1/appeals", json={"content": text, "channel": "web"}).status_code == 201
    page = browser.new_page(viewport={"width": 1200, "height": 800})
    page.goto(f"{server}/console/hotspots")
    expect(page.get_by_test_id("error")).to_contain_text("API 密钥")
    page.fill("#api-key", SUPERVISOR_KEY)
    page.click("#save-key")
    first = page.get_by_test_id("hotspot").first
    expect(first).to_contain_text("A3区洋湖街道")
    expect(first).to_contain_text("3 条")
    expect(page.get_by_test_id("summary")).to_contain_text("共受理 4 条诉求")

    assert api.post("/v1/appeals", json={"content": SAME_SITE[3], "channel": "wechat"}).status_code == 201
    expect(first).to_contain_text("4 条", timeout=25_000)  # the next poll, no reload
    expect(first).to_have_class("hot changed")
    assert page.evaluate("document.querySelectorAll('[data-testid=hotspot]').length") == 1
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    variant = "sqlite" if "sqlite" in request.node.callspec.id else "postgres"
    page.screenshot(path=str(ARTIFACTS / f"hotspots-{variant}.png"), full_page=True)

    page.select_option("#days", "1")
    expect(page.get_by_test_id("summary")).to_contain_text("近 1 天共受理 5 条诉求")
