"""Typed dependencies: the loaded dispatcher, the store and the suggestion service (swap them in tests
with ``app.dependency_overrides``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status

from serve.metrics import Metrics
from serve.settings import ServeSettings
from serve.store import Store
from serve.suggest import SuggestionService


def get_dispatcher(request: Request) -> Any:
    """The current :class:`minyi_nlp.dispatch.Dispatcher` (503 while none is loaded). A request keeps
    the one it got even if an admin reload swaps in a new one meanwhile."""
    dispatcher = getattr(request.app.state, "dispatcher", None)
    if dispatcher is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "no model loaded (see /readyz)")
    return dispatcher


def get_store(request: Request) -> Store:
    return request.app.state.store


def get_service(request: Request) -> SuggestionService:
    return request.app.state.service


def get_metrics(request: Request) -> Metrics:
    return request.app.state.metrics


def get_settings(request: Request) -> ServeSettings:
    return request.app.state.settings


DispatcherDep = Annotated[Any, Depends(get_dispatcher)]
StoreDep = Annotated[Store, Depends(get_store)]
ServiceDep = Annotated[SuggestionService, Depends(get_service)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
SettingsDep = Annotated[ServeSettings, Depends(get_settings)]
