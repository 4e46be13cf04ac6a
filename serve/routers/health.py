"""Liveness, readiness and Prometheus metrics (no API key: for the orchestrator and the scraper)."""

from __future__ import annotations

from typing import Any

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST

from serve.deps import MetricsDep, StoreDep
from serve.responses import json_response

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up (it may still be loading the model)."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "model not loaded or database unreachable"}})
async def readyz(request: Request, store: StoreDep) -> Response:
    """Ready when a model is loaded and the database answers; also says the lists' version and the last day
    their working-day calendar covers."""
    dispatcher = getattr(request.app.state, "dispatcher", None)
    checks: dict[str, str] = {"model": "ok" if dispatcher is not None else "not loaded"}
    try:
        with anyio.fail_after(request.app.state.settings.serve_db_timeout_s):
            await anyio.to_thread.run_sync(store.ping, abandon_on_cancel=True)
        checks["database"] = "ok"
    except Exception as exc:  # any failure means not ready
        checks["database"] = f"unreachable ({type(exc).__name__})"
    ready = all(v == "ok" for v in checks.values())
    body: dict[str, Any] = {"status": "ready" if ready else "not ready", "checks": checks,
                            "model_version": getattr(dispatcher, "version", None)}
    lists = getattr(dispatcher, "lists", None)
    if lists is not None:  # how far deadlines can be counted (the calendar is not a readiness check)
        body["lists"] = {"version": lists.version, "calendar_until": lists.calendar.covered_until().isoformat()}
    return json_response(body, status_code=200 if ready else 503)


@router.get("/metrics", response_class=Response)
async def metrics(m: MetricsDep) -> Response:
    """Prometheus text format (the monitoring gauges read the store: rendered in a worker thread)."""
    return Response(await anyio.to_thread.run_sync(m.render), media_type=CONTENT_TYPE_LATEST)
