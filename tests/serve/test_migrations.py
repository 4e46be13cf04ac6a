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


def test_sqlite_page_cache_per_connection_is_bounded_by_the_setting(tmp_path, monkeypatch):
    """Each pooled connection keeps its page cache full for its life: the serving setting bounds it."""
    from sqlalchemy import text

    from serve.db import DEFAULT_SQLITE_CACHE_MIB
    from serve.settings import ServeSettings

    monkeypatch.setenv("MINYI_SERVE_SQLITE_CACHE_MIB", "3")
    assert ServeSettings().serve_sqlite_cache_mib == 3
    for mib, expected in ((3, -3 * 1024), (None, -DEFAULT_SQLITE_CACHE_MIB * 1024)):
        kwargs = {} if mib is None else {"sqlite_cache_mib": mib}
        engine = make_engine(f"sqlite:///{tmp_path / f'{mib}.db'}", **kwargs)
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA cache_size")).scalar_one() == expected
            assert conn.execute(text("PRAGMA mmap_size")).scalar_one() > 0
        engine.dispose()
