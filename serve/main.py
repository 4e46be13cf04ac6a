"""The FastAPI app: ``create_app`` builds it (models and database opened in the lifespan), ``run``
starts it with uvicorn (what ``minyi serve`` calls)."""

from __future__ import annotations

import asyncio
import inspect
import logging
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from serve import errors
from serve.auth import load_api_keys
from serve.db import make_engine, migrate
from serve.metrics import Metrics, MetricsMiddleware
from serve.routers import admin, console, decisions, health, meta, suggestions
from serve.routers.console import STATIC_DIR
from serve.settings import ServeSettings, get_serve_settings
from serve.store import Store
from serve.suggest import SuggestionService, warm_up

log = logging.getLogger("serve")

Loader = Callable[[], Any]


def default_loader(bundle_dir: Path | None) -> Loader:
    """Load ``bundle_dir`` (default: the served bundle, looked up again at every call) and re-read the lists."""

    def load() -> Any:
        from minyi_nlp.dispatch import Dispatcher
        from minyi_nlp.routing import load_lists

        load_lists.cache_clear()  # an administrator may have edited the lists
        return Dispatcher.load(bundle_dir)

    return load


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    state = app.state
    settings: ServeSettings = state.settings
    engine = make_engine(settings.database_url, timeout_s=settings.serve_db_timeout_s)
    await anyio.to_thread.run_sync(migrate, engine)
    state.store = Store(engine)
    state.service = SuggestionService(state.store, state.metrics, max_batch=settings.serve_microbatch,
                                      chunk=settings.serve_batch_chunk)
    state.reload_lock = asyncio.Lock()
    await state.service.start()
    if state.dispatcher is None:
        try:
            state.dispatcher = await anyio.to_thread.run_sync(state.loader)
        except Exception:
            log.exception("no model could be loaded: /readyz answers 503 until POST /v1/admin/reload succeeds")
    if state.dispatcher is not None:
        await anyio.to_thread.run_sync(warm_up, state.dispatcher)
    state.metrics.set_model(getattr(state.dispatcher, "version", None))
    log.info("minyi service ready: model %s, database %s", getattr(state.dispatcher, "version", None),
             engine.url.render_as_string(hide_password=True))
    try:
        yield
    finally:
        await state.service.stop()
        engine.dispose()


def create_app(
    settings: ServeSettings | None = None, dispatcher: Any | None = None, loader: Loader | None = None
) -> FastAPI:
    """The service. ``dispatcher`` skips model loading (tests); ``loader`` is what start-up (when no
    dispatcher is given) and ``POST /v1/admin/reload`` call to build a new dispatcher."""
    settings = settings or get_serve_settings()
    kwargs: dict[str, Any] = {}
    if "max_body_size" in inspect.signature(FastAPI).parameters:
        kwargs["max_body_size"] = settings.max_body_bytes
    app = FastAPI(
        title="minyi",
        summary="Route suggestions for citizen appeals, human decisions, the dispatcher console",
        version="1",
        lifespan=lifespan,
        **kwargs,
    )
    app.state.settings = settings
    app.state.api_keys = load_api_keys(settings.api_keys, settings.api_keys_file)
    app.state.dispatcher = dispatcher
    app.state.loader = loader or default_loader(settings.bundle_dir)
    app.state.metrics = Metrics.create()
    errors.install(app)
    for module in (health, suggestions, decisions, admin, meta, console):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    return app


def run(host: str = "127.0.0.1", port: int = 8000, *, workers: int = 1, log_level: str = "info",
        access_log: bool = True) -> None:
    """Start the service with uvicorn: train and serve a bundle if none is served yet, apply the database
    migrations, then serve (``workers`` > 1 starts processes, each loading the bundle once; its weights are
    memory-mapped, so the processes share them)."""
    import uvicorn

    from minyi_nlp.dispatch import ensure_bundle

    settings = get_serve_settings()
    if settings.bundle_dir is None:
        ensure_bundle()
    load_api_keys(settings.api_keys, settings.api_keys_file)  # fail early; create the dev keys file once
    engine = make_engine(settings.database_url, timeout_s=settings.serve_db_timeout_s)
    try:
        migrate(engine)
    finally:
        engine.dispose()
    where = "MINYI_API_KEYS" if settings.api_keys is not None else f"the file {settings.api_keys_file}"
    print(f"minyi: console at http://{host}:{port}/console, API keys from {where}", file=sys.stderr)
    if workers > 1:
        uvicorn.run("serve.main:create_app", factory=True, host=host, port=port, workers=workers,
                    log_level=log_level, access_log=access_log)
    else:
        uvicorn.run(create_app(settings), host=host, port=port, log_level=log_level, access_log=access_log)
