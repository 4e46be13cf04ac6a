"""Typed dependencies: the loaded dispatcher, the store and the suggestion service (swap them in tests
with ``app.dependency_overrides``). They are ``async def``: FastAPI runs a plain ``def`` dependency in a
worker thread, a thread hop per dependency per request for what is an attribute read."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status

from serve.metrics import Metrics
from serve.settings import ServeSettings
from serve.store import Store
from serve.suggest import SuggestionService


async def get_dispatcher(request: Request) -> Any:
    """The current :class:`minyi_nlp.dispatch.Dispatcher` (503 while none is loaded). A request keeps
    the one it got even if an admin reload swaps in a new one meanwhile."""
    dispatcher = getattr(request.app.state, "dispatcher", None)
    if dispatcher is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "no model loaded (see /readyz)")
    return dispatcher


async def get_store(request: Request) -> Store:
    return request.app.state.store


async def get_service(request: Request) -> SuggestionService:
    return request.app.state.service


async def get_metrics(request: Request) -> Metrics:
    return request.app.state.metrics


async def get_settings(request: Request) -> ServeSettings:
    return request.app.state.settings


DispatcherDep = Annotated[Any, Depends(get_dispatcher)]
StoreDep = Annotated[Store, Depends(get_store)]
ServiceDep = Annotated[SuggestionService, Depends(get_service)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
SettingsDep = Annotated[ServeSettings, Depends(get_settings)]
