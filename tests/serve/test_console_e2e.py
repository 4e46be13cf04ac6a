"""The dispatcher console end to end: real model, real uvicorn on loopback, Debian's chromium via Playwright.

Saves screenshots under tests/serve/artifacts/ (console.png for SQLite, console-postgres.png for PostgreSQL).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import httpx
import pytest
from serve_helpers import ARTIFACTS, AS_DISPATCHER, DISPATCHER_KEY, live_server

pytestmark = pytest.mark.slow

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
APPEAL_TITLE = "工地夜间施工噪音扰民"
APPEAL = ("A3区洋湖街道某小区旁边的工地连续一个月夜间施工到凌晨两点，噪音很大，老人小孩都无法休息，"
          "多次向物业反映没有结果，请有关部门尽快处理。联系电话13812345678。")


def chromium_path() -> str:
    path = os.environ.get("MINYI_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        pytest.skip("chromium not installed (apt-get install chromium, or source .ci/services.sh)")
    return path


@pytest.fixture
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (python) is not installed")
    executable = chromium_path()
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def server(make_settings, real_dispatcher):
    from serve.main import create_app

    with live_server(create_app(make_settings(), dispatcher=real_dispatcher)) as url:
        yield url


def test_console_suggest_accept_and_override(browser, server, request):
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1280, "height": 1000}, locale="zh-CN")
    page.goto(f"{server}/console")
    assert page.title() == "民意速办 · 分拨台"

    # a wrong key is refused, then the right one is kept in localStorage
    page.fill("#dispatcher-name", "张三")
    page.fill("#api-key", "wrong-key-000000")
    page.click("#save-key")
    expect(page.locator("#key-status")).to_contain_text("无效")
    page.fill("#api-key", DISPATCHER_KEY)
    page.click("#save-key")
    expect(page.locator("#key-status")).to_contain_text("调度员")
    assert page.evaluate("localStorage.getItem('minyi.apiKey')") == DISPATCHER_KEY

    # paste an appeal and get ranked routes
    page.fill("#appeal-title", APPEAL_TITLE)
    page.fill("#appeal-content", APPEAL)
    page.click("#suggest")
    page.wait_for_selector('[data-testid="route-1"]')
    sid = page.inner_text('[data-testid="suggestion-id"]').strip()
    api = httpx.Client(base_url=server, headers=AS_DISPATCHER, timeout=30)
    shown = api.get(f"/v1/suggestions/{sid}").json()
    routes = page.locator('[data-testid^="route-"]')
    assert routes.count() == len(shown["departments"])
    assert shown["departments"][0]["department"] in page.inner_text('[data-testid="route-1"]')
    assert page.is_visible('[data-testid="review-badge"]') == shown["needs_review"]
    assert page.inner_text('[data-testid="due-at"]') == shown["due_at"][:16].replace("T", " ")
    assert len(page.locator('#keywords .chip').all()) == len(shown["keywords"]) > 0
    assert "13812345678" not in shown["content"]

    # accept the first route: the decision is stored
    page.click('[data-testid="accept-1"]')
    page.wait_for_selector('[data-testid="decision-status"]:has-text("已采纳第 1 项")')
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    variant = "" if "sqlite" in request.node.callspec.id else "-postgres"
    page.screenshot(path=str(ARTIFACTS / f"console{variant}.png"), full_page=True)
    decision = api.get(f"/v1/suggestions/{sid}").json()["decision"]
    assert decision["accepted_rank"] == 1 and decision["dispatcher"] == "张三"
    assert decision["department"] == shown["departments"][0]["department"]
    assert page.is_disabled('[data-testid="accept-2"]')

    # a second appeal, routed elsewhere by hand (override)
    page.fill("#appeal-content", "孩子所在的学校违规收取补课费，每学期两千元。")
    page.click("#suggest")
    expect(page.locator('[data-testid="suggestion-id"]')).not_to_have_text(sid)
    sid2 = page.inner_text('[data-testid="suggestion-id"]').strip()
    page.select_option('[data-testid="override-department"]', "教育局")
    page.fill("#override-jurisdiction", "A7县")
    page.click('[data-testid="override"]')
    page.wait_for_selector('[data-testid="decision-status"]:has-text("已改派")')
    decision = api.get(f"/v1/suggestions/{sid2}").json()["decision"]
    assert (decision["department"], decision["jurisdiction"], decision["accepted_rank"]) == ("教育局", "A7县", None)
    api.close()
