"""Alembic environment: runs on the service's engine (``config.attributes["engine"]``) or, from the
``alembic`` command line, on ``MINYI_DATABASE_URL`` (default: the service's SQLite file)."""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context
from sqlalchemy import text

from serve.db import Base, make_engine
from serve.db_appeals import managed_by_orm  # also registers the appeal tables on Base.metadata

config = context.config
target_metadata = Base.metadata
MIGRATION_LOCK_ID = 0x6D696E7969  # "minyi": serialises concurrent start-ups on PostgreSQL


def run_migrations_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata,
                      literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = config.attributes.get("engine")
    if engine is None:  # the alembic CLI
        from serve.settings import ServeSettings

        if config.config_file_name:
            fileConfig(config.config_file_name, disable_existing_loggers=False)
        engine = make_engine(ServeSettings().database_url)
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=sqlite,
                          include_name=managed_by_orm)
        with context.begin_transaction():
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK_ID})
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
