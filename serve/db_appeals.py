"""Tables of the appeal work queue (migration 0002).

``appeals``          one row per appeal taken in by ``POST /v1/appeals``; its id is the id of its stored
                     suggestion (``suggestions``) and its decision is the suggestion's row in ``decisions``.
                     The queue's sort keys and filters are copied here so that one index answers a page.
``appeal_contacts``  the caller's contact (name, phone, address), Fernet-encrypted, one row per appeal.
``appeal_events``    the history: who did what, when (masked details only).
``appeal_search``    segmented words of the masked text for full-text search: an FTS5 table on SQLite, a
                     table with a GIN index over ``to_tsvector('simple', words)`` on PostgreSQL (created by
                     the migration only; see :mod:`serve.appeal_search`).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    LargeBinary,
    SmallInteger,
    String,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from serve.db import Base, IdType, JsonType, utcnow

PENDING, DECIDED, MERGED = "pending", "decided", "merged"
SEARCH_TABLE = "appeal_search"  # not an ORM table: dialect-specific, made by the migration
STATUSES = (PENDING, DECIDED, MERGED)


class AppealRow(Base):
    """An appeal in the queue. Text lives (masked) in its suggestion row."""

    __tablename__ = "appeals"

    seq: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("suggestions.id", ondelete="RESTRICT"), unique=True)
    channel: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str | None] = mapped_column(String(200))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    priority: Mapped[int] = mapped_column(SmallInteger)  # 0 urgent, 1 not: the queue sorts ascending
    urgent: Mapped[bool] = mapped_column(Boolean)
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    category: Mapped[str | None] = mapped_column(String(200))
    jurisdiction: Mapped[str | None] = mapped_column(String(200))  # the place named in the text
    top_department: Mapped[str | None] = mapped_column(String(200))
    top_jurisdiction: Mapped[str | None] = mapped_column(String(200))
    top_score: Mapped[float | None] = mapped_column(Float)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    merged_into: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    merged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    similar: Mapped[list[dict[str, Any]]] = mapped_column(JsonType, default=list)  # [{id, score}] at intake
    vector: Mapped[bytes | None] = mapped_column(LargeBinary)  # dense embed row, float16
    sketch: Mapped[bytes | None] = mapped_column(LargeBinary)  # heaviest sparse features: uint32 ids, float16
    vector_version: Mapped[str | None] = mapped_column(String(300))

    __table_args__ = (
        Index("ux_appeals_channel_external_id", "channel", "external_id", unique=True),
        Index("ix_appeals_queue", "status", "priority", "due_at", "seq"),
        Index("ix_appeals_decided", "status", "decided_at", "seq"),
        Index("ix_appeals_merged", "status", "merged_at", "seq"),
        Index("ix_appeals_received", "received_at", "seq"),
        Index("ix_appeals_merged_into", "merged_into"),
    )


class AppealContactRow(Base):
    """The caller's contact, encrypted (:mod:`serve.pii_vault`); never joined into lists."""

    __tablename__ = "appeal_contacts"

    appeal_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("appeals.id", ondelete="CASCADE"),
                                                 primary_key=True)
    token: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AppealEventRow(Base):
    """One step of an appeal's history."""

    __tablename__ = "appeal_events"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    appeal_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("appeals.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(32))
    detail: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)



def managed_by_orm(name: str | None, type_: str, _parent_names: object = None) -> bool:
    """Alembic ``include_name``: leave the search table (and SQLite's FTS5 shadow tables) to the migration."""
    return not (type_ == "table" and name is not None and name.startswith(SEARCH_TABLE))
