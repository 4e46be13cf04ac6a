"""Database: SQLAlchemy 2 models, engine set-up and Alembic migrations.

Two tables, kept apart on purpose: ``suggestions`` (what the model proposed, written once) and
``decisions`` (what a person chose, at most one per suggestion). Citizen text is stored **masked**
(:func:`minyi_nlp.text.preprocess`: normalised, PII replaced by ``<PHONE>``, ``<ID>`` …); the raw text
is never written anywhere.
"""

from __future__ import annotations

import logging
import os
import uuid
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Engine,
    ForeignKey,
    Integer,
    String,
    Text,
    Uuid,
    create_engine,
    event,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from serve.settings import DEFAULT_SQLITE_CACHE_MIB

log = logging.getLogger(__name__)
SERVE_DIR = Path(__file__).resolve().parent
MIGRATIONS_DIR = SERVE_DIR / "migrations"
ALEMBIC_INI = SERVE_DIR / "alembic.ini"

JsonType = JSON().with_variant(JSONB(), "postgresql")
IdType = BigInteger().with_variant(Integer(), "sqlite")  # SQLite autoincrements INTEGER PRIMARY KEY only


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class SuggestionRow(Base):
    """One answer of ``POST /v1/suggestions``: masked input, model version and the full suggestion."""

    __tablename__ = "suggestions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    title: Mapped[str | None] = mapped_column(Text)  # masked
    content: Mapped[str] = mapped_column(Text)  # masked
    channel: Mapped[str | None] = mapped_column(String(64))
    model_version: Mapped[str] = mapped_column(String(300))
    top_category: Mapped[str | None] = mapped_column(String(200))
    suggestion: Mapped[dict[str, Any]] = mapped_column(JsonType)  # Suggestion.as_dict()
    needs_review: Mapped[bool] = mapped_column(Boolean)

    decision: Mapped[DecisionRow | None] = relationship(back_populates="suggestion", uselist=False, lazy="raise")


class DecisionRow(Base):
    """The dispatcher's decision on a suggestion: the accepted route (its rank) or an override."""

    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    suggestion_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("suggestions.id", ondelete="RESTRICT"), unique=True
    )
    department: Mapped[str] = mapped_column(String(200))
    jurisdiction: Mapped[str | None] = mapped_column(String(200))
    dispatcher: Mapped[str] = mapped_column(String(100))
    accepted_rank: Mapped[int | None] = mapped_column(Integer)  # 1-based; NULL = override
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    note: Mapped[str | None] = mapped_column(Text)  # masked; added by migration 0002

    suggestion: Mapped[SuggestionRow] = relationship(back_populates="decision", lazy="raise")


# --------------------------------------------------------------------------- engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any, cache_mib: int = DEFAULT_SQLITE_CACHE_MIB) -> None:
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
    cur.execute("PRAGMA synchronous=NORMAL")  # durable across app crashes; WAL checkpoints fsync
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=5000")
    # page cache per connection, in KiB: it holds the pages a connection has read or written and is kept at its
    # limit for the connection's life (SQLite's default is 2 MiB); reads of the file go through mmap instead
    cur.execute(f"PRAGMA cache_size={-1024 * cache_mib}")
    cur.execute("PRAGMA mmap_size=1073741824")  # read through the OS page cache without a copy per page
    cur.close()


def private_sqlite_file(path: Path) -> None:
    """Create the database file readable by its owner only (0600; SQLite gives its -wal and -shm
    files the same mode), or narrow an existing one that others may read, with a warning."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    elif path.stat().st_mode & 0o077:
        log.warning("%s holds personal data and was readable by other users: changing its mode to 0600", path)
        for item in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            if item.exists():
                item.chmod(0o600)


def make_engine(database_url: str, *, timeout_s: float = 5.0, echo: bool = False,
                sqlite_cache_mib: int = DEFAULT_SQLITE_CACHE_MIB) -> Engine:
    """An engine for ``database_url``: SQLite in WAL mode (file created 0600, parent folder created, a page
    cache of ``sqlite_cache_mib`` per connection), or PostgreSQL."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:" and not url.database.startswith("file:"):
            private_sqlite_file(Path(url.database).expanduser())
        engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False, "timeout": timeout_s})
        event.listen(engine, "connect", partial(_sqlite_pragmas, cache_mib=sqlite_cache_mib))
        return engine
    connect_args: dict[str, Any] = {}
    if url.get_backend_name() == "postgresql":
        connect_args["connect_timeout"] = max(1, int(timeout_s))
    return create_engine(url, echo=echo, pool_pre_ping=True, connect_args=connect_args)


def ping(engine: Engine) -> None:
    """Raise unless the database answers ``SELECT 1``."""
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


# --------------------------------------------------------------------------- migrations


def alembic_config(engine: Engine) -> Any:
    """An Alembic config bound to ``engine``'s URL, with the packaged migrations."""
    from alembic.config import Config

    cfg = Config(str(ALEMBIC_INI))
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    cfg.attributes["engine"] = engine
    return cfg


def migrate(engine: Engine, revision: str = "head") -> None:
    """``alembic upgrade <revision>`` on ``engine`` (idempotent; serialised on PostgreSQL)."""
    from alembic import command

    command.upgrade(alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str = "base") -> None:
    from alembic import command

    command.downgrade(alembic_config(engine), revision)
