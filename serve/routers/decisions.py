"""Decisions: record the dispatcher's choice on a suggestion, export confirmed decisions."""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response, StreamingResponse

from minyi_nlp.feedback import DEFAULT_MIN_SHARE, training_row
from serve.auth import ADMIN_RESPONSES, AUTH_RESPONSES, AdminRole, DispatcherRole
from serve.db import DecisionRow
from serve.deps import MetricsDep, StoreDep
from serve.responses import dumps, json_response
from serve.schemas import DecisionIn, DecisionOut, rfc3339, safe_channel
from serve.store import Conflict, NewDecision, NotFound, Store, aware
from serve.vocabulary import check_override

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1", tags=["decisions"])
UNKNOWN_SUGGESTION = "unknown suggestion"  # the id from the path is not echoed: it may be anything

EXPORT_FIELDS = ("suggestion_id", "decided_at", "text", "category", "department", "jurisdiction", "accepted",
                 "accepted_rank", "predicted_category", "predicted_department", "predicted_jurisdiction",
                 "model_version", "channel")


def decision_out(row: DecisionRow) -> dict[str, Any]:
    return {
        "suggestion_id": str(row.suggestion_id), "department": row.department, "jurisdiction": row.jurisdiction,
        "dispatcher": row.dispatcher, "accepted_rank": row.accepted_rank, "accepted": row.accepted_rank is not None,
        "decided_at": aware(row.decided_at).isoformat(),
    }


def _invalid(field: str, msg: str) -> RequestValidationError:
    return RequestValidationError([{"type": "value_error", "loc": ("body", field), "msg": msg}])


class Contradiction(HTTPException):
    """A well-formed decision that contradicts the stored suggestion (409, naming the field)."""

    def __init__(self, field: str, msg: str) -> None:
        super().__init__(status.HTTP_409_CONFLICT, f"{field}: {msg}")


def resolve(body: DecisionIn, suggestion: dict[str, Any], lists: Any) -> NewDecision:
    """Check the decision against the suggestion; fill the route of an accepted rank. Departments and
    places must be of the lists (422, :mod:`serve.vocabulary`); a decision that contradicts the
    suggestion is a 409."""
    check_override(body.department, body.jurisdiction, lists, suggestion)  # 422 for a name outside the lists
    if body.accepted_rank is None:
        if body.department is None:
            raise _invalid("department", "required when accepted_rank is null (an override)")
        return NewDecision(body.department, body.jurisdiction, body.dispatcher, None)
    routes = suggestion.get("departments") or []
    if body.accepted_rank > len(routes):
        raise Contradiction("accepted_rank", f"the suggestion has {len(routes)} routes: use 1..{len(routes)}")
    route = routes[body.accepted_rank - 1]
    for name in ("department", "jurisdiction"):
        given = getattr(body, name)
        if given is not None and given != route.get(name):
            raise Contradiction(name, f"is not the {name} of the route at rank {body.accepted_rank} "
                                      f"({route.get(name)!r}); send accepted_rank null for an override")
    return NewDecision(route["department"], route.get("jurisdiction"), body.dispatcher, body.accepted_rank)


@router.post(
    "/suggestions/{suggestion_id}/decision", status_code=status.HTTP_201_CREATED, response_model=DecisionOut,
    operation_id="recordDecision",
    responses={**AUTH_RESPONSES, 200: {"description": "the same decision was already recorded",
                                       "model": DecisionOut},
               404: {"description": "unknown suggestion"},
               409: {"description": "a different decision was already recorded, or the decision contradicts the "
                                    "suggestion (an accepted rank it does not have, another route's department)"},
               413: {"description": "body too large"}, 422: {"description": "invalid input; `message` names the field"},
               503: {"description": "database unavailable"}},
)
def record_decision(suggestion_id: str, body: DecisionIn, _: DispatcherRole, store: StoreDep,
                    metrics: MetricsDep, request: Request) -> Response:
    """Store the human decision apart from the suggestion: 201 new, 200 same again, 409 different."""
    from minyi_nlp.routing import load_lists

    try:
        row, _existing = store.get_suggestion(suggestion_id)
    except NotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, UNKNOWN_SUGGESTION) from None
    dispatcher = getattr(request.app.state, "dispatcher", None)
    decision = resolve(body, row.suggestion, dispatcher.lists if dispatcher is not None else load_lists())
    try:
        saved, created = store.add_decision(row.id, decision)
    except Conflict as exc:
        return json_response({"detail": "a different decision is already recorded for this suggestion",
                              "message": "conflict: a different decision is already recorded",
                              "decision": decision_out(exc.existing)}, status.HTTP_409_CONFLICT)
    if created:
        metrics.decisions.labels("accepted" if decision.accepted_rank is not None else "overridden").inc()
        log.info("decision on %s: %s", row.id,
                 f"accepted rank {decision.accepted_rank}" if decision.accepted_rank else "override")
    return json_response(decision_out(saved), status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class ExportFormat(StrEnum):
    jsonl = "jsonl"
    csv = "csv"


def _rows(store: Store, lists: Any, since: datetime | None, min_share: float) -> Iterator[dict[str, Any]]:
    for suggestion, decision in store.iter_decisions(since):
        row = training_row(suggestion, decision, lists, min_share=min_share)
        yield {**row, "channel": safe_channel(row.get("channel"))}


def _jsonl(rows: Iterator[dict[str, Any]]) -> Iterator[bytes]:
    for row in rows:
        yield dumps(row) + b"\n"


def _csv(rows: Iterator[dict[str, Any]]) -> Iterator[str]:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=EXPORT_FIELDS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
        yield buf.getvalue()
        buf.seek(0)
        buf.truncate()
    yield buf.getvalue()


# RFC 3339 date-time, as OpenAPI's format: date-time means (an offset or Z is required)
def parse_since(value: str | None, name: str = "since") -> datetime | None:
    """A query time as an aware UTC datetime; 422 naming ``name`` unless it is an RFC 3339 date-time with
    an offset."""
    if value is None:
        return None
    try:
        return rfc3339(value)
    except ValueError as exc:
        raise RequestValidationError([{"type": "value_error", "loc": ("query", name), "msg": str(exc)}]) from None


@router.get("/decisions/export", operation_id="exportDecisions",
            responses={**ADMIN_RESPONSES, 200: {"content": {"application/x-ndjson": {}, "text/csv": {}}},
                       422: {"description": "invalid query; `message` names the parameter"},
                       503: {"description": "database unavailable"}})
def export_decisions(
    request: Request, _: AdminRole, store: StoreDep,
    format: Annotated[ExportFormat, Query(description="jsonl (default) or csv")] = ExportFormat.jsonl,
    since: Annotated[str | None, Query(description="only decisions at or after this time (RFC 3339, with an offset)",
                                       json_schema_extra={"format": "date-time"})] = None,
    min_share: Annotated[float, Query(ge=0, le=1, description="see minyi_nlp.feedback")] = DEFAULT_MIN_SHARE,
) -> StreamingResponse:
    """Confirmed decisions as training rows, oldest first: masked ``text``, the ``category`` the decision
    implies (null when unclear), the final ``department``/``jurisdiction``, ``accepted`` (a suggested
    route was taken) and what the model had predicted. Streamed; admin only."""
    from minyi_nlp.routing import load_lists

    after = parse_since(since)
    dispatcher = getattr(request.app.state, "dispatcher", None)
    lists = dispatcher.lists if dispatcher is not None else load_lists()
    rows = _rows(store, lists, after, min_share)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    if format is ExportFormat.csv:
        return StreamingResponse(_csv(rows), media_type="text/csv; charset=utf-8",
                                 headers={"Content-Disposition": f'attachment; filename="decisions-{stamp}.csv"'})
    return StreamingResponse(_jsonl(rows), media_type="application/x-ndjson",
                             headers={"Content-Disposition": f'attachment; filename="decisions-{stamp}.jsonl"'})
