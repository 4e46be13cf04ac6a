"""Prometheus metrics: one registry per app (several apps may live in one test process)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

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
    calendar_until: Gauge
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
            calendar_until=Gauge("minyi_lists_calendar_until_timestamp_seconds",
                                 "end of the last day the loaded lists' working-day calendar covers (Unix time)",
                                 ["lists_version"], registry=reg),
            reloads=Counter("minyi_model_reloads", "model reloads", ["result"], registry=reg),
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)

    def set_model(self, version: str | None, lists: Any | None = None) -> None:
        """The loaded model, and the reach of its lists' working-day calendar (logged as a warning when it
        ends within ``WARN_DAYS``: after it, deadlines are left to a person)."""
        self.model_loaded.clear()
        if version:
            self.model_loaded.labels(model_version=version).set(1)
        self.calendar_until.clear()
        if lists is not None:
            until, warning = calendar_reach(lists)
            self.calendar_until.labels(lists_version=lists.version).set(until.timestamp())
            if warning:
                log.warning("lists %s: %s", lists.version, warning)


def calendar_reach(lists: Any) -> tuple[datetime, str | None]:
    """(the end of the last covered day, in the lists' time zone; the warning for today, if any)."""
    from minyi_nlp.routing.list_check import calendar_warning

    zone = ZoneInfo(lists.timezone)
    last = lists.calendar.covered_until()
    return (datetime(last.year, last.month, last.day, tzinfo=zone) + timedelta(days=1),
            calendar_warning(last, datetime.now(zone).date()))


log = logging.getLogger(__name__)
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


class MonitorCollector:
    """Gauges of how the served model fares against the decisions of the last ``metrics_window_days``
    (:mod:`minyi_nlp.monitor`), computed from the store when scraped, at most every ``metrics_ttl_s``."""

    PREFIX = "minyi_monitor_"

    def __init__(self, engine: Any, reference: Any, settings: Any | None = None) -> None:
        from minyi_nlp.monitor import MonitorSettings

        self.engine = engine
        self.reference = reference  # () → the served bundle's reference.json (or None)
        self.settings = settings or MonitorSettings()
        self._cache: tuple[float, dict[str, Any]] | None = None
        self._lock = threading.Lock()

    def report(self) -> dict[str, Any]:
        from datetime import UTC, datetime, timedelta

        from minyi_nlp.monitor import report_from_store

        with self._lock:
            now = time.monotonic()
            if self._cache is None or now - self._cache[0] >= self.settings.metrics_ttl_s:
                until = datetime.now(UTC)
                since = until - timedelta(days=self.settings.metrics_window_days)
                self._cache = (now, report_from_store(since, until, database_url=self.engine,
                                                      reference=self.reference(), settings=self.settings))
            return self._cache[1]

    def describe(self) -> list[Any]:
        return list(self._families(None))

    def collect(self) -> Iterable[Any]:
        try:
            report = self.report()
        except Exception:  # a scrape never fails because the store is busy: the gauges are left out
            log.exception("monitor gauges not computed")
            return []
        return self._families(report)

    def _families(self, r: dict[str, Any] | None) -> Iterable[Any]:
        from prometheus_client.core import GaugeMetricFamily

        p = self.PREFIX
        days = self.settings.metrics_window_days

        def gauge(name: str, doc: str, value: Any = None, labels: list[str] | None = None) -> Any:
            g = GaugeMetricFamily(p + name, f"{doc} (last {days} days)", labels=labels)
            if r is not None and value is not None and labels is None:
                g.add_metric([], float(value))
            return g

        yield gauge("decisions", "dispatcher decisions", r and r["decisions"])
        yield gauge("rank1_acceptance", "share of decisions taking the first suggested route",
                    r and r["rank1_acceptance"])
        yield gauge("override_rate", "share of decisions taking no suggested route", r and r["override_rate"])
        for by, label in (("by_category", "category"), ("by_department", "department")):
            g = gauge(f"override_rate_{by}", f"override rate per suggested {label}", labels=[label])
            for key, v in ((r or {}).get("overrides", {}).get(by) or {}).items():
                g.add_metric([key], v["override_rate"])
            yield g
        yield gauge("route_score_ece", "calibration error of the top route's score against rank-1 decisions",
                    r and r["reliability"].get("ece"))
        g = gauge("psi", "population stability index against the training reference", labels=["what"])
        for what in ("category_score", "route_score", "category_mix"):
            value = (r or {}).get("drift", {}).get(f"{what}_psi")
            if value is not None:
                g.add_metric([what], value)
        yield g
        g = gauge("decision_latency_seconds", "time from suggestion to decision", labels=["quantile"])
        seconds = (r or {}).get("latency", {}).get("decision_seconds")
        if seconds:
            g.add_metric(["0.5"], seconds["p50"])
            g.add_metric(["0.9"], seconds["p90"])
        yield g
        yield gauge("sustained_drop", "1 when the rolling rank-1 acceptance dropped beyond the threshold for "
                                      "the configured days", r and int(r["sustained_drop"]["flagged"]))
