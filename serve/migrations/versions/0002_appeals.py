"""appeals: intake, work queue, merges, history, encrypted contacts, full-text search; decisions.note

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
ID_TYPE = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TZ = sa.DateTime(timezone=True)

INDEXES = {
    "ix_appeals_queue": ["status", "priority", "due_at", "seq"],
    "ix_appeals_decided": ["status", "decided_at", "seq"],
    "ix_appeals_merged": ["status", "merged_at", "seq"],
    "ix_appeals_received": ["received_at", "seq"],
    "ix_appeals_merged_into": ["merged_into"],
}


def upgrade() -> None:
    with op.batch_alter_table("decisions") as batch:
        batch.add_column(sa.Column("note", sa.Text(), nullable=True))
    op.create_table(
        "appeals",
        sa.Column("seq", ID_TYPE, primary_key=True, autoincrement=True),
        sa.Column("id", sa.Uuid(), sa.ForeignKey("suggestions.id", ondelete="RESTRICT"), nullable=False,
                  unique=True),
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("external_id", sa.String(200), nullable=True),
        sa.Column("received_at", TZ, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("priority", sa.SmallInteger(), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("due_at", TZ, nullable=False),
        sa.Column("category", sa.String(200), nullable=True),
        sa.Column("jurisdiction", sa.String(200), nullable=True),
        sa.Column("top_department", sa.String(200), nullable=True),
        sa.Column("top_jurisdiction", sa.String(200), nullable=True),
        sa.Column("top_score", sa.Float(), nullable=True),
        sa.Column("decided_at", TZ, nullable=True),
        sa.Column("merged_into", sa.Uuid(), nullable=True),
        sa.Column("merged_at", TZ, nullable=True),
        sa.Column("similar", JSON_TYPE, nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=True),
        sa.Column("sketch", sa.LargeBinary(), nullable=True),
        sa.Column("vector_version", sa.String(300), nullable=True),
    )
    op.create_index("ux_appeals_channel_external_id", "appeals", ["channel", "external_id"], unique=True)
    for name, columns in INDEXES.items():
        op.create_index(name, "appeals", columns)
    op.create_table(
        "appeal_contacts",
        sa.Column("appeal_id", sa.Uuid(), sa.ForeignKey("appeals.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("token", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
    )
    op.create_table(
        "appeal_events",
        sa.Column("id", ID_TYPE, primary_key=True, autoincrement=True),
        sa.Column("appeal_id", sa.Uuid(), sa.ForeignKey("appeals.id", ondelete="CASCADE"), nullable=False),
        sa.Column("at", TZ, nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("detail", JSON_TYPE, nullable=False),
    )
    op.create_index("ix_appeal_events_appeal_id", "appeal_events", ["appeal_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE TABLE appeal_search (seq BIGINT PRIMARY KEY REFERENCES appeals (seq) ON DELETE CASCADE, "
                   "tsv TSVECTOR NOT NULL)")
        op.execute("CREATE INDEX ix_appeal_search_tsv ON appeal_search USING GIN (tsv)")
    else:
        op.execute("CREATE VIRTUAL TABLE appeal_search USING fts5(words, tokenize = 'unicode61')")


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS appeal_search")
    op.drop_index("ix_appeal_events_appeal_id", table_name="appeal_events")
    op.drop_table("appeal_events")
    op.drop_table("appeal_contacts")
    for name in (*INDEXES, "ux_appeals_channel_external_id"):
        op.drop_index(name, table_name="appeals")
    op.drop_table("appeals")
    with op.batch_alter_table("decisions") as batch:
        batch.drop_column("note")
