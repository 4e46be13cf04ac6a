"""/healthz, /readyz (model and database), /metrics, the console page."""

from __future__ import annotations

from serve_helpers import AS_DISPATCHER
from sqlalchemy.exc import OperationalError


def test_healthz_and_readyz(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    r = client.get("/readyz")
    assert r.status_code == 200
    assert r.json()["checks"] == {"model": "ok", "database": "ok"}
    assert r.json()["model_version"].startswith("stub-category-1")


def test_readyz_without_a_model(make_client):
    def broken_loader():
        raise FileNotFoundError("no model")

    client = make_client(None, loader=broken_loader)
    assert client.get("/healthz").status_code == 200
    r = client.get("/readyz")
    assert r.status_code == 503 and r.json()["checks"]["model"] == "not loaded"
    assert client.post("/v1/suggestions", json={"content": "x"}, headers=AS_DISPATCHER).status_code == 503


def test_readyz_when_the_database_is_down(client, monkeypatch):
    def down():
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(client.app.state.store, "ping", down)
    r = client.get("/readyz")
    assert r.status_code == 503 and r.json()["checks"]["database"].startswith("unreachable")


def test_database_errors_are_503(client, monkeypatch):
    def down(*_a, **_k):
        raise OperationalError("INSERT", {}, Exception("disk I/O error"))

    monkeypatch.setattr(client.app.state.store, "add_suggestions", down)
    monkeypatch.setattr(client.app.state.store, "get_suggestion", down)
    assert client.post("/v1/suggestions", json={"content": "学校"}, headers=AS_DISPATCHER).status_code == 503
    assert client.get("/v1/suggestions/x", headers=AS_DISPATCHER).status_code == 503


def test_metrics(client):
    client.post("/v1/suggestions", json={"content": "学校"}, headers=AS_DISPATCHER)
    client.get("/v1/suggestions/nope", headers=AS_DISPATCHER)
    client.get("/no/such/path")
    m = client.get("/metrics")
    assert m.headers["content-type"].startswith("text/plain")
    text = m.text
    assert 'minyi_http_requests_total{method="POST",route="/v1/suggestions",status="201"} 1.0' in text
    assert 'route="/v1/suggestions/{suggestion_id}",status="404"' in text
    assert 'route="unmatched"' in text
    assert "minyi_http_request_duration_seconds_bucket" in text
    assert 'minyi_suggestions_total{endpoint="single"} 1.0' in text
    assert "minyi_suggestions_needs_review_total" in text
    assert 'minyi_model_loaded{model_version="stub-category-1' in text


def test_console_page(client):
    r = client.get("/", follow_redirects=False)
    assert r.status_code in (302, 307) and r.headers["location"] == "/console"
    page = client.get("/console")
    assert page.status_code == 200 and "分拨台" in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert client.get("/static/console.js").status_code == 200
    deps = client.get("/v1/departments", headers=AS_DISPATCHER).json()
    assert any(d["name"] == "教育局" for d in deps["items"])


def test_readyz_and_metrics_say_how_far_the_calendar_reaches(client):
    from minyi_nlp.routing.lists import national_years

    last = national_years()[1]
    lists = client.get("/readyz").json()["lists"]
    assert lists["calendar_until"] == f"{last}-12-31" and lists["version"].startswith("taxonomy@")
    # the end of that day in Asia/Shanghai: alert on `… - time() < 60 * 86400`
    from datetime import datetime
    from zoneinfo import ZoneInfo

    end = datetime(last + 1, 1, 1, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp()
    text = client.get("/metrics").text
    line = next(x for x in text.splitlines() if x.startswith("minyi_lists_calendar_until_timestamp_seconds{"))
    assert float(line.rsplit(" ", 1)[1]) == end
