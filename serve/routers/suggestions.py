"""``/v1/suggestions``: suggest routes for one appeal or a batch, and read a stored suggestion."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status
from fastapi.responses import Response

from serve.auth import AUTH_RESPONSES, DispatcherRole
from serve.deps import DispatcherDep, ServiceDep, SettingsDep, StoreDep
from serve.responses import json_response
from serve.routers.decisions import UNKNOWN_SUGGESTION, decision_out
from serve.schemas import AppealIn, BatchIn, BatchOut, StoredSuggestionOut, SuggestionOut, safe_channel
from serve.store import NotFound, aware
from serve.suggest import aware_due_at

router = APIRouter(prefix="/v1", tags=["suggestions"])

ExplainQuery = Annotated[
    bool | None, Query(description="include keywords (default: MINYI_SERVE_EXPLAIN, on)")
]
ERRORS: dict[int | str, dict[str, Any]] = {
    **AUTH_RESPONSES, 413: {"description": "body too large"},
    422: {"description": "invalid input; `message` names the field"},
    503: {"description": "no model loaded, or the database is unavailable"}}
# OpenAPI links: a client (and schemathesis' stateful tests) can go from a new suggestion to it and to
# its decision.
_ID = "$response.body#/id"
LINKS = {"readSuggestion": {"operationId": "readSuggestion", "parameters": {"suggestion_id": _ID}},
         "recordDecision": {"operationId": "recordDecision", "parameters": {"suggestion_id": _ID}}}
BATCH_LINKS = {name: {**link, "parameters": {"suggestion_id": "$response.body#/items/0/id"}}
               for name, link in LINKS.items()}


@router.post("/suggestions", status_code=status.HTTP_201_CREATED, response_model=SuggestionOut,
             operation_id="createSuggestion",
             responses={**ERRORS, 201: {"description": "the stored suggestion", "links": LINKS}})
async def create_suggestion(
    appeal: AppealIn, _: DispatcherRole, dispatcher: DispatcherDep, service: ServiceDep, settings: SettingsDep,
    explain: ExplainQuery = None,
) -> Response:
    """Ranked categories and routes for one appeal; the suggestion is stored (text masked)."""
    out = await service.suggest_one(dispatcher, appeal, explain=settings.serve_explain if explain is None else explain)
    return json_response(out, status.HTTP_201_CREATED, headers={"Location": f"/v1/suggestions/{out['id']}"})


async def _batch(body: BatchIn, dispatcher: DispatcherDep, service: ServiceDep, settings: SettingsDep,
                 explain: bool | None) -> Response:
    items = await service.suggest_batch(dispatcher, body.items,
                                        explain=settings.serve_explain if explain is None else explain)
    return json_response({"items": items}, status.HTTP_201_CREATED)


@router.post("/suggestions:batch", status_code=status.HTTP_201_CREATED, response_model=BatchOut,
             operation_id="createSuggestionBatch",
             responses={**ERRORS, 201: {"description": "the stored suggestions, in order", "links": BATCH_LINKS}})
async def create_batch(
    body: BatchIn, _: DispatcherRole, dispatcher: DispatcherDep, service: ServiceDep, settings: SettingsDep,
    explain: ExplainQuery = None,
) -> Response:
    """Up to 1,000 appeals (``{"items": [...]}`` or a bare list); answers in the same order, all stored."""
    return await _batch(body, dispatcher, service, settings, explain)


@router.post("/suggestions/batch", status_code=status.HTTP_201_CREATED, response_model=BatchOut,
             include_in_schema=False)
async def create_batch_alias(
    body: BatchIn, _: DispatcherRole, dispatcher: DispatcherDep, service: ServiceDep, settings: SettingsDep,
    explain: ExplainQuery = None,
) -> Response:
    """Alias of ``/v1/suggestions:batch`` for clients that cannot send a ':' in a path."""
    return await _batch(body, dispatcher, service, settings, explain)


@router.get("/suggestions/{suggestion_id}", response_model=StoredSuggestionOut, operation_id="readSuggestion",
            responses={**AUTH_RESPONSES, 404: {"description": "unknown suggestion"},
                       503: {"description": "database unavailable"}})
def read_suggestion(suggestion_id: str, _: DispatcherRole, store: StoreDep) -> Response:
    """A stored suggestion with its masked text and the decision, if one was made."""
    try:
        row, decision = store.get_suggestion(suggestion_id)
    except NotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, UNKNOWN_SUGGESTION) from None
    body = {
        "id": str(row.id), "created_at": aware(row.created_at).isoformat(), **aware_due_at(row.suggestion),
        "title": row.title, "content": row.content, "channel": safe_channel(row.channel),
        "decision": decision_out(decision) if decision is not None else None,
    }
    return json_response(body)
