"""The supervisor's view: how the served model fares against the dispatchers' decisions.

``GET /v1/monitor`` returns the figures of :mod:`minyi_nlp.monitor` for a period (default: the last 30 days);
``/console/monitor`` is the page that shows them (a page of its own, linked from the console).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, Response

from serve.auth import AUTH_RESPONSES, DispatcherRole
from serve.deps import StoreDep
from serve.responses import json_response
from serve.routers.appeals import TIME
from serve.routers.console import SECURITY_HEADERS, STATIC_DIR
from serve.routers.decisions import parse_since

router = APIRouter(tags=["monitor"])
MAX_DAYS = 366


def served_reference_of(state: Any) -> dict[str, Any] | None:
    """The training reference of the loaded bundle (``reference.json``), if it has one."""
    bundle = getattr(getattr(state, "dispatcher", None), "bundle", None)
    return (getattr(bundle, "extras", None) or {}).get("reference")


@router.get("/v1/monitor", operation_id="monitorReport",
            responses={**AUTH_RESPONSES, 422: {"description": "since or until is not RFC 3339 with an offset"}})
async def monitor_report(
    request: Request,
    _: DispatcherRole,
    store: StoreDep,
    since: Annotated[str | None, Query(description="start, RFC 3339 with an offset (default: 30 days before until)",
                                       json_schema_extra=TIME)] = None,
    until: Annotated[str | None, Query(description="end, exclusive, RFC 3339 with an offset (default: now)",
                                       json_schema_extra=TIME)] = None,
) -> Response:
    """Rank-1 acceptance, override rates (per category, department, week), reliability of the served scores,
    drift against the training reference (PSI), decision latency, the daily series and the sustained-drop
    flag (thresholds: ``MINYI_MONITOR_*``)."""
    from minyi_nlp.monitor import MonitorSettings, report_from_store

    end = parse_since(until, "until") or datetime.now(UTC)
    start = parse_since(since, "since") or end - timedelta(days=30)
    start = max(start, end - timedelta(days=MAX_DAYS))  # at most MAX_DAYS; `period` says what was covered
    start = min(start, end)  # since after until: an empty period, an empty report
    reference = served_reference_of(request.app.state)
    report = await anyio.to_thread.run_sync(
        lambda: report_from_store(start, end, database_url=store.engine, reference=reference,
                                  settings=MonitorSettings()))
    report["model_version"] = getattr(request.app.state.dispatcher, "version", None)
    return json_response(report)


@router.get("/console/monitor", include_in_schema=False)
def monitor_page() -> FileResponse:
    return FileResponse(STATIC_DIR / "monitor.html", media_type="text/html; charset=utf-8", headers=SECURITY_HEADERS)
