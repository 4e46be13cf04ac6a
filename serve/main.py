"""The FastAPI app: ``create_app`` builds it (models and database opened in the lifespan), ``run``
starts it with uvicorn (what ``minyi serve`` calls)."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline

from serve import errors
from serve.appeal_store import AppealStore
from serve.appeals import AppealService
from serve.auth import load_api_keys
from serve.db import make_engine, migrate
from serve.guard import RequestGuard
from serve.hotspots import HotspotBoard
from serve.memory import freeze_long_lived, tune_allocator
from serve.metrics import Metrics, MetricsMiddleware, MonitorCollector
from serve.pii_vault import load_vault
from serve.routers import admin, appeals, console, decisions, health, hotspots, meta, monitor, suggestions
from serve.routers.console import STATIC_DIR
from serve.settings import ServeSettings, get_serve_settings
from serve.store import Store
from serve.suggest import SuggestionService, warm_up
from serve.vocabulary import add_vocabulary

log = logging.getLogger("serve")

Loader = Callable[[], Any]


def default_loader(bundle_dir: Path | None) -> Loader:
    """Load ``bundle_dir`` (default: the served bundle, looked up again at every call) and re-read the lists."""

    def load() -> Any:
        from minyi_nlp.dispatch import Dispatcher
        from minyi_nlp.routing.list_check import clear_caches

        clear_caches()  # an administrator may have edited any list: lists, places, hazards
        return Dispatcher.load(bundle_dir)

    return load


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    state = app.state
    settings: ServeSettings = state.settings
    tune_allocator(arena_max=settings.serve_malloc_arena_max, mmap_threshold=settings.serve_malloc_mmap_threshold)
    engine = make_engine(settings.database_url, timeout_s=settings.serve_db_timeout_s,
                         sqlite_cache_mib=settings.serve_sqlite_cache_mib)
    await anyio.to_thread.run_sync(migrate, engine)
    state.store = Store(engine)
    collector = MonitorCollector(engine, lambda: monitor.served_reference_of(state))
    state.metrics.registry.register(collector)
    state.service = SuggestionService(state.store, state.metrics, max_batch=settings.serve_microbatch,
                                      chunk=settings.serve_batch_chunk)
    state.appeals = AppealService(AppealStore(engine), state.vault, settings)
    state.hotspots = HotspotBoard(engine, cache_s=settings.hotspots_cache_s)  # reads the appeals at its first request
    state.reload_lock = asyncio.Lock()
    await state.service.start()
    if state.dispatcher is None:
        try:
            state.dispatcher = await anyio.to_thread.run_sync(state.loader)
        except Exception:
            log.exception("no model could be loaded: /readyz answers 503 until POST /v1/admin/reload succeeds")
    if state.dispatcher is not None:
        await anyio.to_thread.run_sync(lambda: warm_up(state.dispatcher, prefault=settings.serve_prefault_weights))
        await anyio.to_thread.run_sync(state.appeals.rebuild_index, state.dispatcher)
    if settings.serve_gc_freeze:
        await anyio.to_thread.run_sync(freeze_long_lived)
    state.metrics.set_model(getattr(state.dispatcher, "version", None), getattr(state.dispatcher, "lists", None))
    log.info("minyi service ready: model %s, database %s", getattr(state.dispatcher, "version", None),
             engine.url.render_as_string(hide_password=True))
    try:
        yield
    finally:
        state.metrics.registry.unregister(collector)
        await state.service.stop()
        engine.dispose()


def create_app(
    settings: ServeSettings | None = None, dispatcher: Any | None = None, loader: Loader | None = None
) -> FastAPI:
    """The service. ``dispatcher`` skips model loading (tests); ``loader`` is what start-up (when no
    dispatcher is given) and ``POST /v1/admin/reload`` call to build a new dispatcher."""
    settings = settings or get_serve_settings()
    # /docs and /redoc with the Swagger UI / ReDoc files of the fastapi-offline wheel (no CDN)
    factory: Any = FastAPIOffline if settings.serve_docs else FastAPI
    docs: dict[str, Any] = {} if settings.serve_docs else {"docs_url": None, "redoc_url": None, "openapi_url": None}
    app = factory(
        title="minyi",
        summary="Route suggestions for citizen appeals, human decisions, the dispatcher console",
        version="1",
        lifespan=lifespan,
        **docs,
    )
    app.state.settings = settings
    app.state.api_keys = load_api_keys(settings.api_keys, settings.api_keys_file)
    pii_key = settings.pii_key.get_secret_value() if settings.pii_key is not None else None
    app.state.vault = load_vault(pii_key, settings.pii_key_file)
    app.state.dispatcher = dispatcher
    app.state.loader = loader or default_loader(settings.bundle_dir)
    app.state.metrics = Metrics.create()
    _vocabulary_in_openapi(app)
    errors.install(app)
    for module in (health, suggestions, appeals, decisions, admin, meta, monitor, console, hotspots):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    # outermost first: metrics and the access log see every answer, also the guard's 401 and 413
    app.add_middleware(RequestGuard, keys=app.state.api_keys, max_body_bytes=settings.max_body_bytes,
                       max_batch_body_bytes=settings.max_batch_body_bytes)
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics, access_log=settings.serve_access_log)
    return app


def _vocabulary_in_openapi(app: FastAPI) -> None:
    """The OpenAPI document names the departments and places a decision may use (serve.vocabulary);
    a reload clears the cached document."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            from minyi_nlp.routing import load_lists

            dispatcher = app.state.dispatcher
            add_vocabulary(generate(), dispatcher.lists if dispatcher is not None else load_lists())
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]


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
    engine = make_engine(settings.database_url, timeout_s=settings.serve_db_timeout_s,
                         sqlite_cache_mib=settings.serve_sqlite_cache_mib)
    try:
        migrate(engine)
    finally:
        engine.dispose()
    where = "MINYI_API_KEYS" if settings.api_keys is not None else f"the file {settings.api_keys_file}"
    print(f"minyi: console at http://{host}:{port}/console, API keys from {where}", file=sys.stderr)
    # uvicorn's own access log prints raw paths and query strings: ours (serve.metrics) prints the route
    # template instead (/v1/suggestions/{suggestion_id}), so no id or value from a URL reaches the log.
    settings = settings.model_copy(update={"serve_access_log": access_log and settings.serve_access_log})
    log_config = _log_config()
    if workers > 1:
        import os

        os.environ["MINYI_SERVE_ACCESS_LOG"] = "true" if settings.serve_access_log else "false"
        uvicorn.run("serve.main:create_app", factory=True, host=host, port=port, workers=workers,
                    log_level=log_level, access_log=False, log_config=log_config)
    else:
        uvicorn.run(create_app(settings), host=host, port=port, log_level=log_level, access_log=False,
                    log_config=log_config)


def _log_config() -> dict[str, Any]:
    """uvicorn's logging set-up plus the service's own loggers (``serve``: start-up, reloads, the
    access log ``serve.access``) on the same stderr handler."""
    import copy

    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["serve"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config
