"""Alembic: the migrations build exactly the ORM schema, go down and up again (both databases)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from serve.db import Base, downgrade, make_engine, migrate
from serve.db_appeals import SEARCH_TABLE, managed_by_orm

APPEAL_TABLES = {"appeals", "appeal_contacts", "appeal_events", SEARCH_TABLE}


def test_upgrade_matches_models_and_round_trips(database_url):
    engine = make_engine(database_url)
    try:
        migrate(engine)
        migrate(engine)  # idempotent
        assert {"suggestions", "decisions", "alembic_version", *APPEAL_TABLES} <= set(inspect(engine).get_table_names())
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"include_name": managed_by_orm})
            diff = compare_metadata(context, Base.metadata)
        assert diff == []
        downgrade(engine, "0001")
        assert not APPEAL_TABLES & set(inspect(engine).get_table_names())
        assert "note" not in {c["name"] for c in inspect(engine).get_columns("decisions")}
        downgrade(engine, "base")
        assert not {"suggestions", "decisions"} & set(inspect(engine).get_table_names())
        migrate(engine)
        assert {"suggestions", "decisions"} <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_sqlite_runs_in_wal_mode(tmp_path):
    from sqlalchemy import text

    engine = make_engine(f"sqlite:///{tmp_path / 'sub' / 'dir' / 'x.db'}")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
    engine.dispose()
