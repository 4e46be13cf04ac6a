"""Prometheus metrics: one registry per app (several apps may live in one test process)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    gc_collector,
    generate_latest,
    platform_collector,
    process_collector,
)
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


@dataclass
class Metrics:
    registry: CollectorRegistry
    requests: Counter
    latency: Histogram
    suggestions: Counter
    needs_review: Counter
    decisions: Counter
    model_batch: Histogram
    model_seconds: Histogram
    model_loaded: Gauge
    reloads: Counter

    @classmethod
    def create(cls) -> Metrics:
        reg = CollectorRegistry(auto_describe=True)
        process_collector.ProcessCollector(registry=reg)
        platform_collector.PlatformCollector(registry=reg)
        gc_collector.GCCollector(registry=reg)
        return cls(
            registry=reg,
            requests=Counter("minyi_http_requests", "HTTP requests", ["method", "route", "status"], registry=reg),
            latency=Histogram("minyi_http_request_duration_seconds", "HTTP request latency", ["method", "route"],
                              buckets=LATENCY_BUCKETS, registry=reg),
            suggestions=Counter("minyi_suggestions", "suggestions made and stored", ["endpoint"], registry=reg),
            needs_review=Counter("minyi_suggestions_needs_review", "suggestions flagged for human review",
                                 registry=reg),
            decisions=Counter("minyi_decisions", "dispatcher decisions recorded", ["outcome"], registry=reg),
            model_batch=Histogram("minyi_model_batch_size", "appeals per model call",
                                  buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000), registry=reg),
            model_seconds=Histogram("minyi_model_call_duration_seconds", "model call (suggest_many) time",
                                    buckets=LATENCY_BUCKETS, registry=reg),
            model_loaded=Gauge("minyi_model_loaded", "1 when a model is loaded", ["model_version"], registry=reg),
            reloads=Counter("minyi_model_reloads", "model reloads", ["result"], registry=reg),
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)

    def set_model(self, version: str | None) -> None:
        self.model_loaded.clear()
        if version:
            self.model_loaded.labels(model_version=version).set(1)


access_log = logging.getLogger("serve.access")


def route_template(scope: Scope) -> str:
    """The route's path template (``/v1/suggestions/{suggestion_id}``), never the raw path: found by
    routing, or, for answers given before routing (401, 413), by matching the app's routes."""
    route = scope.get("route")
    if route is not None and getattr(route, "path", None):
        return route.path
    return _match(getattr(scope.get("app"), "routes", ()), scope) or "unmatched"


def _match(routes: Iterable[Any], scope: Scope) -> str | None:
    for candidate in routes:
        match, _ = candidate.matches(scope)
        if match is not Match.FULL:
            continue
        inner = getattr(candidate, "original_router", None)  # FastAPI's wrapper of an included router
        if inner is not None:
            return _match(inner.routes, scope)
        return getattr(candidate, "path", None)
    return None


class MetricsMiddleware:
    """Pure ASGI middleware: request count and latency per route template (not per raw path), and the
    access log (method, template, status, milliseconds: no raw path, no query string)."""

    def __init__(self, app: ASGIApp, metrics: Metrics, access_log: bool = False) -> None:
        self.app = app
        self.metrics = metrics
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            template = route_template(scope)
            method = scope.get("method", "") if scope.get("method") in METHODS else "other"
            seconds = time.perf_counter() - start
            self.metrics.requests.labels(method, template, str(status)).inc()
            self.metrics.latency.labels(method, template).observe(seconds)
            if self.access_log:
                access_log.info("%s %s %d %.1fms", method, template, status, seconds * 1000)
