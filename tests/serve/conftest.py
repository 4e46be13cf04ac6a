"""Service test fixtures.

Every test that takes ``database_url`` (directly or through ``client``/``make_client``) runs twice:
on a fresh SQLite file and on a fresh PostgreSQL database when ``MINYI_TEST_POSTGRES_URL`` is set
(``source .ci/services.sh``); the PostgreSQL variant is skipped otherwise.

Two dispatchers: ``stub_dispatcher`` (the real :class:`Dispatcher` around a tiny real bundle; fast, for API
behaviour) and ``real_dispatcher`` (the session's real bundle, from the top-level conftest; tests using it
are marked slow).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from serve_helpers import API_KEYS, fresh_postgres_database, make_stub_dispatcher


@pytest.fixture(scope="session")
def stub_dispatcher() -> Any:
    return make_stub_dispatcher()


# --------------------------------------------------------------------------- databases


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'minyi.db'}"
        return
    base = os.environ.get("MINYI_TEST_POSTGRES_URL")
    if not base:
        pytest.skip("PostgreSQL variant skipped: MINYI_TEST_POSTGRES_URL is not set (source .ci/services.sh)")
    with fresh_postgres_database(base) as url:
        yield url


@pytest.fixture
def make_settings(database_url: str, tmp_path: Path) -> Callable[..., Any]:
    from serve.settings import ServeSettings

    def make(**overrides: Any) -> ServeSettings:
        values: dict[str, Any] = {"database_url": database_url, "api_keys": API_KEYS,
                                  "api_keys_file": tmp_path / "api_keys", "pii_key_file": tmp_path / "pii.key",
                                  # a full gc.collect() per reload in the test process's large heap is slow; the
                                  # real-server tests (test_reliability) keep the default
                                  "serve_release_memory_on_reload": False, "serve_gc_freeze": False}
        values.update(overrides)
        return ServeSettings(**values)

    return make


@pytest.fixture
def make_client(make_settings: Callable[..., Any]) -> Iterator[Callable[..., TestClient]]:
    """``make_client(dispatcher, loader=None, raise_server_exceptions=True, **settings)`` → a started
    TestClient (closed at teardown)."""
    from serve.main import create_app

    stack = contextlib.ExitStack()

    def make(dispatcher: Any = None, loader: Any = None, raise_server_exceptions: bool = True,
             **overrides: Any) -> TestClient:
        app = create_app(make_settings(**overrides), dispatcher=dispatcher, loader=loader)
        return stack.enter_context(TestClient(app, raise_server_exceptions=raise_server_exceptions))

    with stack:
        yield make


@pytest.fixture
def client(make_client: Callable[..., TestClient], stub_dispatcher: Any) -> TestClient:
    """The app with the stub model; a reload builds another stub (never loads models/)."""
    return make_client(stub_dispatcher, loader=make_stub_dispatcher)
