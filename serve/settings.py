"""Service settings (pydantic-settings, ``MINYI_`` env prefix).

``MINYI_DATABASE_URL``  SQLAlchemy URL; default a SQLite file ``<project>/data/serve/minyi.db`` (WAL).
                        ``postgresql://…`` is served by psycopg 3.
``MINYI_API_KEYS``      ``"role:key,…"`` with roles ``intake``, ``dispatcher`` and ``admin``. When unset, the keys are
                        read from ``MINYI_API_KEYS_FILE`` (default ``<project>/data/serve/api_keys``), which
                        is created with random keys (mode 0600) on first start: see :mod:`serve.auth`.
``MINYI_PII_KEY``       Fernet key(s) for the callers' contacts; when unset ``MINYI_PII_KEY_FILE`` (default
                        ``<project>/data/serve/pii.key``, created on first start): see :mod:`serve.pii_vault`.
``MINYI_MAX_BODY_BYTES`` / ``MINYI_MAX_BATCH_BODY_BYTES``  request body limits (413 above them): one appeal
                        or decision (128 KiB: a 20,000-character appeal even as ``\\u`` escapes), a batch
                        (16 MiB; routes ending in ``:batch`` or ``/batch``).
``MINYI_SERVE_DOCS``    ``/docs``, ``/redoc`` and ``/openapi.json`` (on by default, served offline).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from minyi_nlp.config import get_settings as get_minyi_settings

DEFAULT_SQLITE_CACHE_MIB = 8  # SQLite page cache per pooled connection (MiB)


def serve_data_dir() -> Path:
    """Where the service keeps its default files (``<project>/data/serve``)."""
    return get_minyi_settings().data_dir / "serve"


def default_database_url() -> str:
    return f"sqlite:///{serve_data_dir() / 'minyi.db'}"


def normalise_database_url(url: str) -> str:
    """``postgres://`` / ``postgresql://`` → the psycopg 3 driver (the one the project installs)."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


class ServeSettings(BaseSettings):
    """Settings of one service instance; every field can be set as ``MINYI_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="MINYI_", extra="ignore")

    database_url: str = Field(default_factory=default_database_url)
    api_keys: str | None = None
    api_keys_file: Path = Field(default_factory=lambda: serve_data_dir() / "api_keys")
    bundle_dir: Path | None = None  # default: the served bundle (models/served.json, or MINYI_BUNDLE)

    max_body_bytes: int = Field(128 * 1024, ge=1024)  # one appeal or decision
    max_batch_body_bytes: int = Field(16 * 1024 * 1024, ge=1024)  # POST …:batch
    serve_docs: bool = True  # /docs, /redoc, /openapi.json (no key needed: they describe, they hold no data)
    serve_access_log: bool = True  # one line per request: method, route template, status, time (no raw path)

    serve_microbatch: int = Field(32, ge=1)  # concurrent single requests folded into one model call
    serve_batch_chunk: int = Field(100, ge=1)  # model call size inside POST /v1/suggestions:batch
    serve_explain: bool = True  # keywords (the words that drove the top category) in every answer
    serve_db_timeout_s: float = Field(5.0, gt=0)
    # SQLite only: page cache per connection (MiB). Each pooled connection fills its cache as the database grows
    # and keeps it, so this bounds what the database adds to a serving process; reads go through mmap anyway
    serve_sqlite_cache_mib: int = Field(DEFAULT_SQLITE_CACHE_MIB, ge=1)
    # after a reload: collect the previous model and give its freed heap back to the OS (a full collection
    # costs ~0.1-1 s in a process with a large heap, e.g. a test run's)
    serve_release_memory_on_reload: bool = True
    serve_gc_freeze: bool = True  # after start-up and each reload, keep the loaded model out of GC passes
    serve_prefault_weights: bool = True  # map every page of the memory-mapped weights at start-up and reload
    serve_malloc_arena_max: int = Field(2, ge=0)  # glibc arenas of a serving process (0: glibc's default, 8 × cores)
    serve_malloc_mmap_threshold: int = Field(256 * 1024, ge=0)  # bytes; larger blocks are unmapped on free (0: dynamic)
    hotspots_cache_s: float = Field(30.0, ge=0)  # GET /v1/hotspots reuses a ranking this long while nothing arrives

    pii_key: SecretStr | None = None
    pii_key_file: Path = Field(default_factory=lambda: serve_data_dir() / "pii.key")

    @field_validator("database_url")
    @classmethod
    def _url(cls, value: str) -> str:
        return normalise_database_url(value.strip())


@lru_cache(maxsize=1)
def get_serve_settings() -> ServeSettings:
    """Process-wide settings (cached; tests pass their own :class:`ServeSettings` to ``create_app``)."""
    return ServeSettings()
