"""Monitoring from stored suggestions and decisions: ``minyi monitor`` (JSON + PNG), the service's Prometheus
gauges, ``GET /v1/monitor`` and the supervisor page. Data: a simulated month (:mod:`serve.simulate`) with the
tiny real bundle; from day 20 a new kind of appeal (学校门口乱停车, sent to 公安局) is overridden."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from bundle_helpers import DEPARTMENT_OF, tiny_corpus
from serve_helpers import AS_DISPATCHER
from typer.testing import CliRunner

from minyi_nlp.cli import app
from minyi_nlp.monitor import MonitorSettings, build_report, psi
from serve.simulate import Plan, simulate

START = datetime(2026, 11, 1, tzinfo=UTC)
USUAL = [(text, DEPARTMENT_OF[category]) for text, category, _, _ in tiny_corpus()]
NEW_KIND = [(f"{place}学校门口上下学时段车辆乱停乱放，堵塞道路", "公安局") for place in ("A3区", "A5区", "A7县")]


@pytest.fixture
def month(make_settings, stub_dispatcher):
    """A simulated month in a migrated database: (database URL, counts)."""
    from serve.db import make_engine, migrate

    settings = make_settings()
    engine = make_engine(settings.database_url)
    migrate(engine)
    counts = simulate(engine, stub_dispatcher, USUAL, Plan(START, days=30, per_day=30, shift_day=20,
                                                           shift_share=0.6), NEW_KIND)
    engine.dispose()
    return settings.database_url, counts


def test_psi_is_zero_for_the_same_distribution_and_large_for_a_shift():
    ref = [i / 100 for i in range(100)]
    assert psi(ref, ref) == 0
    assert psi(ref, [0.95] * 50) > 1


def test_monitor_report_flags_the_drop_of_a_simulated_month(month, tmp_path):
    url, counts = month
    out = tmp_path / "report"
    result = CliRunner().invoke(app, ["monitor", "--since", "2026-11-01", "--until", "2026-12-01", "--out", str(out),
                                      "--database-url", url, "--format", "json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["decisions"] == summary["suggestions"] == counts["suggestions"] == 900
    assert summary["rank1_acceptance"] == round(counts["rank1"] / 900, 4)
    assert summary["override_rate"] == round(counts["overrides"] / 900, 4)
    assert summary["sustained_drop"] is True
    report = json.loads((out / "monitor.json").read_text(encoding="utf-8"))
    drop = report["sustained_drop"]
    assert drop["runs"] and drop["runs"][0]["from"] >= "2026-11-21"  # not before the new kind came in
    by_department = report["overrides"]["by_department"]
    assert all(0 <= v["rank1_acceptance"] <= 1 for v in by_department.values())
    weeks = report["overrides"]["by_week"]
    assert list(weeks) == ["2026-W44", "2026-W45", "2026-W46", "2026-W47", "2026-W48", "2026-W49"]
    assert weeks["2026-W48"]["override_rate"] > weeks["2026-W45"]["override_rate"] + 0.2
    assert (out / "monitor.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_gauges_are_computed_without_scikit_learn(month):
    """What a /metrics scrape runs (the report, with its calibration bins) imports no scikit-learn: a serving
    process would otherwise hold it (≈ 50 MB) from its first scrape on."""
    url, counts = month
    code = ("import sys; from datetime import UTC, datetime; from minyi_nlp.monitor import report_from_store; "
            "r = report_from_store(datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC), "
            f"database_url={url!r}); print(r['decisions'], r['reliability']['n'] > 0, 'sklearn' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == [str(counts["suggestions"]), "True", "False"]


def test_no_drop_is_flagged_when_nothing_changes(make_settings, stub_dispatcher):
    from minyi_nlp.decisions import decision_frame, suggestion_frame
    from serve.db import make_engine, migrate

    engine = make_engine(make_settings().database_url)
    migrate(engine)
    simulate(engine, stub_dispatcher, USUAL, Plan(START, days=14, per_day=30, shift_day=99))
    end = START + timedelta(days=14)
    s, d = suggestion_frame(engine, since=START, until=end), decision_frame(engine, since=START, until=end)
    report = build_report(s, d, None, since=START, until=end, settings=MonitorSettings(drop_threshold=0.1))
    assert not report["sustained_drop"]["flagged"] and report["decisions"] == 420
    engine.dispose()


def test_prometheus_gauges_and_the_supervisor_page(make_client, stub_dispatcher):
    client = make_client(stub_dispatcher)
    accepted = 0
    for i, (text, _) in enumerate(USUAL[:12]):
        s = client.post("/v1/suggestions", json={"content": text}, headers=AS_DISPATCHER).json()
        body = {"accepted_rank": 1} if i % 3 else {"department": "公安局"}
        accepted += "accepted_rank" in body
        r = client.post(f"/v1/suggestions/{s['id']}/decision", json={"dispatcher": "王", **body},
                        headers=AS_DISPATCHER)
        assert r.status_code == 201, r.text
    metrics = client.get("/metrics").text
    line = next(x for x in metrics.splitlines() if x.startswith("minyi_monitor_rank1_acceptance "))
    assert float(line.split()[1]) == pytest.approx(accepted / 12, abs=1e-4)
    assert "minyi_monitor_decisions 12.0" in metrics and "minyi_monitor_sustained_drop 0.0" in metrics
    report = client.get("/v1/monitor", headers=AS_DISPATCHER).json()
    assert report["decisions"] == 12 and report["override_rate"] == pytest.approx(4 / 12, abs=1e-4)
    assert client.get("/v1/monitor").status_code == 401
    for since in ("2026-11-01T00:00:00Z", "2026-11-01T08:00:00+08:00"):  # any offset
        r = client.get("/v1/monitor", params={"since": since}, headers=AS_DISPATCHER)
        assert r.status_code == 200 and r.json()["daily"][0]["day"] == "2026-11-01"
    empty = client.get("/v1/monitor", params={"since": "2026-12-01T00:00:00Z", "until": "2026-11-01T00:00:00Z"},
                       headers=AS_DISPATCHER)
    assert empty.status_code == 200 and empty.json()["decisions"] == 0  # since after until: nothing in it
    for value in ("0.5", "2026-11-01", "2026-11-01T00:00:00"):  # a number, a date, a time without its offset
        r = client.get("/v1/monitor", params={"until": value}, headers=AS_DISPATCHER)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "until"], r.text
    page = client.get("/console/monitor")
    assert page.status_code == 200 and "监督看板" in page.text and "/static/monitor.js" in page.text
    assert 'href="/console/monitor"' in client.get("/console").text


def test_a_group_of_overrides_only_has_no_rank1_acceptance_and_is_not_an_error():
    import pandas as pd

    from minyi_nlp.monitor import overrides_by

    d = pd.DataFrame({"top_department": ["公安局", "公安局", "教育局"],
                      "accepted_rank": pd.array([None, None, 1], dtype="Int64")})
    assert overrides_by(d, "top_department") == {
        "公安局": {"decisions": 2, "override_rate": 1.0, "rank1_acceptance": 0.0},
        "教育局": {"decisions": 1, "override_rate": 0.0, "rank1_acceptance": 1.0}}
