"""``/v1/appeals``: intake from channels, the work queue, an appeal's detail, decisions and merges (并单)."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Annotated

import anyio
from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.responses import Response

from minyi_nlp.routing import load_lists
from serve.appeal_store import AppealNotFound, BadCursor, ListQuery, MergeError
from serve.appeals import AppealService
from serve.auth import DispatcherRole, IntakeRole
from serve.db_appeals import MERGED
from serve.deps import DispatcherDep, MetricsDep, SettingsDep, StoreDep
from serve.responses import json_response
from serve.routers.decisions import decision_out, parse_since, resolve
from serve.schemas import Channel
from serve.schemas_appeals import (
    AppealCreate,
    AppealCreated,
    AppealDecisionIn,
    AppealDecisionOut,
    AppealDetail,
    AppealItem,
    AppealPage,
    MergeIn,
    StatusFilter,
)
from serve.store import Conflict
from serve.suggest import mask

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1", tags=["appeals"])

ERRORS = {401: {"description": "missing or invalid API key"}, 403: {"description": "role not allowed"},
          422: {"description": "invalid input; `message` names the field"}}
NOT_FOUND = {404: {"description": "unknown appeal"}}
TIME = {"format": "date-time"}


def _service(request: Request) -> AppealService:
    return request.app.state.appeals


def _not_found() -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, "unknown appeal")  # the id is not echoed: it may be anything



@router.post("/appeals", status_code=status.HTTP_201_CREATED, response_model=AppealCreated,
             responses={**ERRORS, 200: {"description": "this (channel, external_id) was taken in before: "
                                                       "the existing appeal"}})
async def create_appeal(body: AppealCreate, request: Request, role: IntakeRole, dispatcher: DispatcherDep,
                        settings: SettingsDep, metrics: MetricsDep) -> Response:
    """Take in one appeal: suggest routes, find similar earlier appeals, store it in the queue. The caller's
    contact and the address are stored encrypted; everything else masked."""
    service = _service(request)
    out, created = await anyio.to_thread.run_sync(
        lambda: service.intake(dispatcher, body, f"{role}/{body.channel.value}", explain=settings.serve_explain))
    if created:
        metrics.suggestions.labels("appeals").inc()
        log.info("appeal %s taken in from %s", out["id"], body.channel.value)
    return json_response(out, status.HTTP_201_CREATED if created else status.HTTP_200_OK,
                         headers={"Location": f"/v1/appeals/{out['id']}"})


@router.get("/appeals", response_model=AppealPage,
            responses={**ERRORS, 404: {"description": "`cursor` is not a next_cursor of this list"}})
def list_appeals(
    request: Request, _: DispatcherRole,
    status_: Annotated[StatusFilter, Query(alias="status", description="the queue (pending) by default")] = "pending",
    q: Annotated[str | None, Query(max_length=200, description="full-text search in the masked text")] = None,
    category: Annotated[str | None, Query(max_length=200)] = None,
    jurisdiction: Annotated[str | None, Query(max_length=200, description="a place and what lies in it")] = None,
    urgent: bool | None = None,
    channel: Channel | None = None,
    since: Annotated[str | None, Query(description="received at or after (RFC 3339)", json_schema_extra=TIME)] = None,
    until: Annotated[str | None, Query(description="received before", json_schema_extra=TIME)] = None,
    decided_since: Annotated[str | None, Query(description="decided at or after", json_schema_extra=TIME)] = None,
    decided_until: Annotated[str | None, Query(description="decided before", json_schema_extra=TIME)] = None,
    cursor: Annotated[str | None, Query(max_length=500, description="next_cursor of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Response:
    """A page of appeals. Pending: urgent first, then the soonest due; decided and merged: the latest
    first; all: the latest received first. Keyset-paginated: pass ``next_cursor`` back as ``cursor``."""
    query = ListQuery(status=status_, q=q, category=category, jurisdiction=jurisdiction, urgent=urgent,
                      channel=channel.value if channel else None, since=parse_since(since, "since"),
                      until=parse_since(until, "until"), decided_since=parse_since(decided_since, "decided_since"),
                      decided_until=parse_since(decided_until, "decided_until"), cursor=cursor, limit=limit)
    try:
        items, next_cursor = _service(request).store.list(query)
    except BadCursor as exc:  # a page this list never gave out: 404 (the string itself was well-formed)
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"cursor: {exc}") from None
    return json_response({"items": items, "next_cursor": next_cursor})


@router.get("/appeals/{appeal_id}", response_model=AppealDetail, responses={**ERRORS, **NOT_FOUND})
def read_appeal(appeal_id: str, request: Request, _: DispatcherRole) -> Response:
    """The appeal with its suggestion (reasons in plain words), similar appeals, decision, merge parent and
    children, history and the caller's contact."""
    try:
        return json_response(_service(request).detail(appeal_id, with_contact=True))
    except AppealNotFound:
        raise _not_found() from None


@router.post("/appeals/{appeal_id}/decision", status_code=status.HTTP_201_CREATED, response_model=AppealDecisionOut,
             responses={**ERRORS, **NOT_FOUND, 200: {"description": "the same decision was already recorded"},
                        409: {"description": "a different decision was already recorded, or the appeal is merged"}})
def decide_appeal(appeal_id: str, body: AppealDecisionIn, request: Request, _: DispatcherRole, store: StoreDep,
                  metrics: MetricsDep) -> Response:
    """Accept a route (``accepted_rank``) or override it (department and jurisdiction from the lists), with
    an optional ``note``: 201 new, 200 the same again, 409 a different one or a merged appeal."""
    try:
        record = _service(request).store.get(appeal_id)
    except AppealNotFound:
        raise _not_found() from None
    if record.appeal.status == MERGED:
        return json_response({"detail": f"merged into {record.appeal.merged_into}: it follows that appeal's route; "
                                        "undo the merge to decide it alone",
                              "message": "conflict: the appeal is merged"}, status.HTTP_409_CONFLICT)
    dispatcher = getattr(request.app.state, "dispatcher", None)
    lists = dispatcher.lists if dispatcher is not None else load_lists()
    decision = replace(resolve(body, record.suggestion.suggestion, lists), note=mask(body.note))
    try:
        saved, created = store.add_decision(record.suggestion.id, decision)
    except Conflict as exc:
        return json_response({"detail": "a different decision is already recorded for this appeal",
                              "message": "conflict: a different decision is already recorded",
                              "decision": {**decision_out(exc.existing), "note": exc.existing.note}},
                             status.HTTP_409_CONFLICT)
    if created:
        metrics.decisions.labels("accepted" if decision.accepted_rank is not None else "overridden").inc()
    return json_response({**decision_out(saved), "note": saved.note},
                         status.HTTP_201_CREATED if created else status.HTTP_200_OK)


def _merge_response(request: Request, appeal_id: str, changed: bool) -> Response:
    item = _service(request).store.summaries([appeal_id])
    return json_response({**next(iter(item.values())), "changed": changed})


def _merge_error(exc: MergeError) -> HTTPException:
    return HTTPException(exc.status, str(exc))


@router.post("/appeals/{appeal_id}/merge", response_model=AppealItem, responses={
    **ERRORS, 404: {"description": "unknown appeal, or unknown `into`"},
    409: {"description": "already merged elsewhere, decided, a merge parent itself, or `into` is this appeal"}})
def merge_appeal(appeal_id: str, body: MergeIn, request: Request, role: DispatcherRole) -> Response:
    """并单: mark this appeal as the same matter as ``into``; it follows that appeal's route and is listed
    in its detail. Merging into a merged appeal merges into its parent. The same merge again is a no-op."""
    try:
        child, changed = _service(request).store.merge(appeal_id, body.into, body.dispatcher or str(role))
    except MergeError as exc:
        raise _merge_error(exc) from None
    return _merge_response(request, str(child.id), changed)


@router.delete("/appeals/{appeal_id}/merge", response_model=AppealItem, responses={**ERRORS, **NOT_FOUND})
def unmerge_appeal(appeal_id: str, request: Request, role: DispatcherRole,
                   dispatcher: Annotated[str | None, Query(max_length=100)] = None) -> Response:
    """Undo a merge: the appeal is pending again (a no-op when it is not merged)."""
    try:
        child, changed = _service(request).store.unmerge(appeal_id, dispatcher or str(role))
    except MergeError as exc:
        raise _merge_error(exc) from None
    return _merge_response(request, str(child.id), changed)
