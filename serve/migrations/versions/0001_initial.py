"""suggestions and decisions

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
ID_TYPE = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "suggestions",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("channel", sa.String(64), nullable=True),
        sa.Column("model_version", sa.String(300), nullable=False),
        sa.Column("top_category", sa.String(200), nullable=True),
        sa.Column("suggestion", JSON_TYPE, nullable=False),
        sa.Column("needs_review", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_suggestions_created_at", "suggestions", ["created_at"])
    op.create_table(
        "decisions",
        sa.Column("id", ID_TYPE, primary_key=True, autoincrement=True),
        sa.Column("suggestion_id", sa.Uuid(), sa.ForeignKey("suggestions.id", ondelete="RESTRICT"),
                  nullable=False, unique=True),
        sa.Column("department", sa.String(200), nullable=False),
        sa.Column("jurisdiction", sa.String(200), nullable=True),
        sa.Column("dispatcher", sa.String(100), nullable=False),
        sa.Column("accepted_rank", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_decisions_decided_at", "decisions", ["decided_at"])


def downgrade() -> None:
    op.drop_index("ix_decisions_decided_at", table_name="decisions")
    op.drop_table("decisions")
    op.drop_index("ix_suggestions_created_at", table_name="suggestions")
    op.drop_table("suggestions")
