"""Admin: reload the models without dropping requests."""

from __future__ import annotations

import logging

import anyio
from fastapi import APIRouter, Request, status
from fastapi.responses import Response

from serve.auth import ADMIN_RESPONSES, AdminRole
from serve.deps import MetricsDep
from serve.memory import freeze_long_lived, release_freed_memory
from serve.responses import json_response
from serve.suggest import warm_up

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1/admin", tags=["admin"])


@router.post("/reload", operation_id="reloadModels",
             responses={**ADMIN_RESPONSES, 503: {"description": "loading failed; the previous model keeps serving"}})
async def reload_models(request: Request, _: AdminRole, metrics: MetricsDep) -> Response:
    """Load the models again (e.g. after ``minyi train``) and swap them in atomically.

    The new dispatcher is built in a worker thread while the old one keeps answering; then one
    reference assignment switches. Requests already running finish with the model they started with.
    """
    state = request.app.state
    async with state.reload_lock:
        previous = getattr(state.dispatcher, "version", None) if state.dispatcher is not None else None
        try:
            new = await anyio.to_thread.run_sync(
                lambda: warm_up(state.loader(), prefault=state.settings.serve_prefault_weights))
        except Exception as exc:
            metrics.reloads.labels("error").inc()
            log.exception("model reload failed; keeping %s", previous)
            return json_response({"detail": f"reload failed: {type(exc).__name__}: {exc}",
                                  "message": "reload failed", "model_version": previous},
                                 status.HTTP_503_SERVICE_UNAVAILABLE)
        state.dispatcher = new
        request.app.openapi_schema = None  # its vocabulary comes from the lists just loaded
        metrics.set_model(new.version, getattr(new, "lists", None))
        metrics.reloads.labels("ok").inc()
        freeze = state.settings.serve_gc_freeze
        if state.settings.serve_release_memory_on_reload:  # the previous model's pages, once it is gone
            await anyio.to_thread.run_sync(lambda: release_freed_memory(freeze=freeze))
        elif freeze:
            await anyio.to_thread.run_sync(freeze_long_lived)
    log.info("model reloaded: %s → %s", previous, new.version)
    return json_response({"model_version": new.version, "previous_version": previous})
