"""``/v1/suggestions``: suggest routes for one appeal or a batch, and read a stored suggestion."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from fastapi.responses import Response

from serve.auth import DispatcherRole
from serve.deps import DispatcherDep, ServiceDep, SettingsDep, StoreDep
from serve.responses import json_response
from serve.routers.decisions import decision_out
from serve.schemas import AppealIn, BatchIn, BatchOut, StoredSuggestionOut, SuggestionOut
from serve.store import NotFound, aware

router = APIRouter(prefix="/v1", tags=["suggestions"])

ExplainQuery = Annotated[
    bool | None, Query(description="include keywords (default: MINYI_SERVE_EXPLAIN, on)")
]
ERRORS = {401: {"description": "missing or invalid API key"}, 403: {"description": "role not allowed"},
          422: {"description": "invalid input; `message` names the field"}}


@router.post("/suggestions", status_code=status.HTTP_201_CREATED, response_model=SuggestionOut, responses=ERRORS)
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


@router.post("/suggestions:batch", status_code=status.HTTP_201_CREATED, response_model=BatchOut, responses=ERRORS)
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


@router.get("/suggestions/{suggestion_id}", response_model=StoredSuggestionOut,
            responses={**ERRORS, 404: {"description": "unknown suggestion"}})
def read_suggestion(suggestion_id: str, _: DispatcherRole, store: StoreDep) -> Response:
    """A stored suggestion with its masked text and the decision, if one was made."""
    try:
        row, decision = store.get_suggestion(suggestion_id)
    except NotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"unknown suggestion {suggestion_id!r}") from None
    body = {
        "id": str(row.id), "created_at": aware(row.created_at).isoformat(), **row.suggestion,
        "title": row.title, "content": row.content, "channel": row.channel,
        "decision": decision_out(decision) if decision is not None else None,
    }
    return json_response(body)
