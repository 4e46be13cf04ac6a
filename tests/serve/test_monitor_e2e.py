"""The supervisor page (/console/monitor) in Debian's chromium via Playwright: a simulated month of decisions
(tiny real bundle; from day 20 a new kind of appeal is overridden) shows the sustained-drop alert, the cards,
the daily chart and the tables. Screenshot: tests/serve/artifacts/monitor-sqlite.png."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from serve_helpers import ARTIFACTS, DISPATCHER_KEY, live_server
from test_console_e2e import browser  # noqa: F401 - the fixture
from test_monitor import NEW_KIND, USUAL

from serve.simulate import Plan, simulate

pytestmark = pytest.mark.slow


def test_the_supervisor_page_shows_the_drop_of_a_simulated_month(make_settings, stub_dispatcher, browser):  # noqa: F811
    from serve.db import make_engine, migrate
    from serve.main import create_app

    settings = make_settings()
    if not settings.database_url.startswith("sqlite"):
        pytest.skip("one database is enough for the page")
    engine = make_engine(settings.database_url)
    migrate(engine)
    simulate(engine, stub_dispatcher, USUAL, Plan(datetime(2026, 11, 1, tzinfo=UTC), per_day=30, shift_share=0.6),
             NEW_KIND)
    engine.dispose()
    with live_server(create_app(settings, dispatcher=stub_dispatcher)) as url:
        page = browser.new_page(viewport={"width": 1280, "height": 1400})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{url}/console/monitor")
        page.fill("#since", "2026-11-01")
        page.fill("#until", "2026-12-01")
        page.fill("#api-key", DISPATCHER_KEY)
        page.click("#save-key")
        page.locator("[data-testid=status]", has_text="900 个决定").wait_for(timeout=30_000)  # CSP: no eval
        alert = page.locator("[data-testid=drop-alert]")
        assert alert.is_visible() and "首选采纳率持续下降" in alert.inner_text()
        cards = page.locator("[data-testid=cards]").inner_text()
        assert "首选采纳率" in cards and "900" in cards
        assert page.locator("#daily-chart polyline").count() == 1
        assert page.locator("[data-testid=by-week] tr").count() >= 5  # a header and the weeks of November
        assert page.locator("[data-testid=mix] tr").count() >= 2
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "monitor-sqlite.png"), full_page=True)
        assert not errors, errors
