"""Alembic: the migrations build exactly the ORM schema, go down and up again (both databases)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from serve.db import Base, downgrade, make_engine, migrate


def test_upgrade_matches_models_and_round_trips(database_url):
    engine = make_engine(database_url)
    try:
        migrate(engine)
        migrate(engine)  # idempotent
        assert {"suggestions", "decisions", "alembic_version"} <= set(inspect(engine).get_table_names())
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diff == []
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
