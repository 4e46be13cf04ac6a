"""The dispatcher's loop in the console, end to end: real category model, real uvicorn on loopback, Debian's
chromium via Playwright, on SQLite and on PostgreSQL.

Appeals come in through the API (as a channel would send them); the console shows them in the queue (urgent
first), ``1`` accepts the first route and the console moves to the next appeal, ``m`` merges an appeal into
its most similar earlier one, ``o`` + Ctrl+Enter overrides, ``/`` searches, the decided list fills, and a
page reload keeps everything. Screenshots go to tests/serve/artifacts/ (console-<step>-<database>.png).
"""

from __future__ import annotations

import os
import re
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from serve_helpers import ARTIFACTS, AS_DISPATCHER, DISPATCHER_KEY, live_server

pytestmark = pytest.mark.slow

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
NOISE = ("A3区洋湖街道某小区旁边的工地连续一个月夜间施工到凌晨两点，噪音很大，老人小孩都无法休息，"
         "多次向物业反映没有结果，请有关部门尽快处理。联系电话13812345678。")
NOISE_AGAIN = ("您好！A3区洋湖街道某小区旁边的工地，连续一个月夜间施工到凌晨两点，噪音很大，老人、小孩都无法休息，"
               "多次向物业反映没有结果，请有关部门尽快处理，谢谢！电话13900001111")
SCHOOL = "A5区某学校违规收取补课费，每学期两千元，家长敢怒不敢言，希望教育部门查处。"
GAS = "A7县某小区楼道燃气管道漏气，气味很重，担心爆炸，请马上派人检查。"
XSS = '<img src=x onerror="window.__xss=1">路灯坏了<script>window.__xss=2</script>'


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


def queue_ids(page) -> list[str]:
    return page.eval_on_selector_all('[data-testid="queue-item"]', "els => els.map(e => e.dataset.id)")


def current_id(page) -> str:
    return page.inner_text('[data-testid="appeal-id"]').strip()


def test_the_dispatchers_loop(browser, server, request):
    from playwright.sync_api import expect

    variant = "sqlite" if "sqlite" in request.node.callspec.id else "postgres"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def shot(page, step: str) -> None:
        page.screenshot(path=str(ARTIFACTS / f"console-{step}-{variant}.png"), full_page=True)

    api = httpx.Client(base_url=server, headers=AS_DISPATCHER, timeout=60)
    now = datetime.now(UTC)

    def take_in(content: str, channel: str, external_id: str, **extra) -> dict:
        r = api.post("/v1/appeals", json={"content": content, "channel": channel, "external_id": external_id,
                                          **extra})
        assert r.status_code == 201, r.text
        return r.json()

    noise = take_in(NOISE, "12345", "T-1", received_at=(now - timedelta(days=2)).isoformat(),
                    caller={"name": "王小明", "phone": "13700001111"})
    school = take_in(SCHOOL, "web", "W-1")

    page = browser.new_page(viewport={"width": 1500, "height": 1100}, locale="zh-CN")
    page.goto(f"{server}/console")
    assert page.title() == "民意速办 · 分拨台"
    # a wrong key is refused; the right one and the dispatcher's name are kept in localStorage
    page.fill("#api-key", "wrong-key-000000")
    page.fill("#dispatcher-name", "张三")
    page.click("#save-key")
    expect(page.locator("#key-status")).to_contain_text("无效")
    page.fill("#api-key", DISPATCHER_KEY)
    page.click("#save-key")
    expect(page.locator("#key-status")).to_contain_text("调度员")
    assert page.evaluate("localStorage.getItem('minyi.apiKey')") == DISPATCHER_KEY

    # the queue comes from the API; new appeals appear without a reload (polling)
    expect(page.locator('[data-testid="queue-item"]')).to_have_count(2)
    again = take_in(NOISE_AGAIN, "wechat", "X-1")
    gas = take_in(GAS, "app", "A-1")
    take_in(XSS, "web", "W-2")
    expect(page.locator('[data-testid="queue-item"]')).to_have_count(5, timeout=20_000)
    order = [i["id"] for i in api.get("/v1/appeals").json()["items"]]
    assert queue_ids(page) == order  # most urgent, then the soonest due first
    urgent = [i["id"] for i in api.get("/v1/appeals", params={"urgent": "true"}).json()["items"]]
    for i, item in enumerate(page.locator('[data-testid="queue-item"]').all()):
        assert ("urgent" in (item.get_attribute("class") or "")) == (order[i] in urgent)
        expect(item.locator('[data-testid="sla-countdown"]')).to_have_text(re.compile(r"^(剩|超时) \d"))
    assert page.evaluate("window.__xss") is None  # markup in an appeal is shown as text
    expect(page.locator(f'[data-testid="queue-item"][data-id="{order[0]}"]')).to_be_visible()

    # the detail: plain words, one confidence per route, the model version only in a tooltip
    page.locator(f'[data-testid="queue-item"][data-id="{noise["id"]}"]').click()
    expect(page.locator('[data-testid="appeal-id"]')).to_have_text(noise["id"])
    detail = api.get(f"/v1/appeals/{noise['id']}").json()
    expect(page.locator('[data-testid^="route-"]')).to_have_count(min(5, len(detail["suggestion"]["departments"])))
    route1 = page.inner_text('[data-testid="route-1"]')
    assert detail["suggestion"]["departments"][0]["department"] in route1
    assert route1.count("%") == 1 and "模型" not in route1 and "0." not in route1
    subs = detail["suggestion"]["subcategories"]  # the finest topic, shown next to the 一级
    expect(page.locator('[data-testid="subcategory"]')).to_contain_text(subs[0]["path"] if subs else "—")
    assert "<PHONE>" in page.inner_text('[data-testid="content"]') and "13812345678" not in page.content()
    expect(page.locator('[data-testid="contact"]')).to_contain_text("13700001111")  # its own detail only
    version = page.get_attribute('[data-testid="model-version"]', "title")
    assert detail["suggestion"]["model_version"] in version
    assert detail["suggestion"]["model_version"] not in page.inner_text("header")

    # 1 accepts route 1; the console moves on to the next appeal of the queue
    start = queue_ids(page)
    page.keyboard.press("1")
    expect(page.locator('[data-testid="appeal-id"]')).not_to_have_text(noise["id"])
    decision = api.get(f"/v1/appeals/{noise['id']}").json()["decision"]
    assert (decision["accepted_rank"], decision["dispatcher"]) == (1, "张三")
    rest = [i for i in start if i != noise["id"]]
    assert current_id(page) == rest[min(start.index(noise["id"]), len(rest) - 1)]
    expect(page.locator(f'[data-testid="decided-item"][data-id="{noise["id"]}"]')).to_be_visible()
    assert noise["id"] not in queue_ids(page)
    shot(page, "accepted")

    # the reworded repeat shows the first appeal as similar, with its route; m merges it there
    page.locator(f'[data-testid="queue-item"][data-id="{again["id"]}"]').click()
    expect(page.locator('[data-testid="similar-1"]')).to_have_attribute("data-id", noise["id"])
    expect(page.locator('[data-testid="similar-1"]')).to_contain_text(decision["department"])
    reasons = page.inner_text('[data-testid="routes"]')
    assert f"相似诉求曾分拨至{decision['jurisdiction'] or ''}{decision['department']}" in reasons
    shot(page, "similar")
    page.keyboard.press("m")
    expect(page.locator('[data-testid="appeal-id"]')).not_to_have_text(again["id"])
    merged = api.get(f"/v1/appeals/{again['id']}").json()
    assert merged["status"] == "merged" and merged["parent"]["id"] == noise["id"]
    assert again["id"] in [c["id"] for c in api.get(f"/v1/appeals/{noise['id']}").json()["children"]]
    assert again["id"] not in queue_ids(page)

    # o opens the override; the form was reset for this appeal; Ctrl+Enter submits it
    page.locator(f'[data-testid="queue-item"][data-id="{school["id"]}"]').click()
    expect(page.locator('[data-testid="appeal-id"]')).to_have_text(school["id"])
    assert page.input_value('[data-testid="override-department"]') == ""
    page.keyboard.press("o")
    page.select_option('[data-testid="override-department"]', "教育局")
    page.fill('[data-testid="override-jurisdiction"]', "A5区")
    page.fill('[data-testid="decision-note"]', "家长电话13611112222，已告知")
    page.keyboard.press("Control+Enter")
    expect(page.locator('[data-testid="appeal-id"]')).not_to_have_text(school["id"])
    decision = api.get(f"/v1/appeals/{school['id']}").json()["decision"]
    assert (decision["department"], decision["jurisdiction"], decision["accepted_rank"]) == ("教育局", "A5区", None)
    assert decision["note"] == "家长电话<PHONE>,已告知"
    assert page.input_value('[data-testid="override-department"]') == ""  # reset for the next appeal
    assert page.input_value('[data-testid="decision-note"]') == ""

    # / searches the masked text; Escape returns to the queue
    page.keyboard.press("/")
    page.keyboard.type("补课费")
    page.keyboard.press("Enter")
    expect(page.locator('[data-testid="list-title"]')).to_contain_text("补课费")
    expect(page.locator('[data-testid="queue-item"]')).to_have_count(1)
    assert queue_ids(page) == [school["id"]]
    shot(page, "search")
    page.keyboard.press("Escape")
    expect(page.locator('[data-testid="list-title"]')).to_have_text("待分拨")

    # a call taken at the console: Ctrl+Enter in the intake form takes it in and opens it
    page.fill("#intake-content", "A3区洋湖街道路灯坏了一个星期，晚上很黑，请维修。")
    page.click("#intake-form summary")  # the caller fields are folded away
    page.fill("#caller-phone", "13500002222")
    page.keyboard.press("Control+Enter")
    expect(page.locator('[data-testid="content"]')).to_contain_text("路灯坏了一个星期")
    taken = current_id(page)
    assert api.get(f"/v1/appeals/{taken}").json()["contact"] == {"phone": "13500002222"}
    assert page.input_value("#intake-content") == ""

    # j / k walk the queue; a reload keeps the open appeal, the queue and the decided list
    first = queue_ids(page)[0]
    page.locator(f'[data-testid="queue-item"][data-id="{first}"]').click()
    expect(page.locator('[data-testid="appeal-id"]')).to_have_text(first)
    page.keyboard.press("j")
    expect(page.locator('[data-testid="appeal-id"]')).to_have_text(queue_ids(page)[1])
    page.keyboard.press("k")
    expect(page.locator('[data-testid="appeal-id"]')).to_have_text(first)
    page.reload()
    expect(page.locator('[data-testid="appeal-id"]')).to_have_text(first)
    expect(page.locator('[data-testid="decided-item"]')).to_have_count(2)
    assert queue_ids(page) == [i["id"] for i in api.get("/v1/appeals").json()["items"]]
    assert gas["id"] in queue_ids(page)
    shot(page, "reloaded")
    assert page.evaluate("window.__xss") is None
    api.close()
