"""Alembic environment. The URL comes from `herald db upgrade` (core/migrate.py) or from Herald's config."""

from alembic import context

import audiences.models  # noqa: F401  (registers tables on Base.metadata)
import campaigns.models  # noqa: F401
import core.users  # noqa: F401
import scheduler.fence  # noqa: F401
from core.config import load_config
from core.db import Base, make_engine

target_metadata = Base.metadata
config = context.config


def _include_object(obj, name, type_, reflected, compare_to) -> bool:
    # APScheduler's job table is created by migration 0002 but is not one of our models.
    return not (type_ == "table" and name == "apscheduler_jobs")


def _url() -> str:
    return config.get_main_option("sqlalchemy.url") or str(load_config().database_url)


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, render_as_batch=True,
                      literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True,
                          include_object=_include_object)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(_url())
    with engine.connect() as conn:
        _sqlite_foreign_keys_off(conn)
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True,
                          include_object=_include_object)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


def _sqlite_foreign_keys_off(conn) -> None:
    """SQLite's batch mode rebuilds a table by copying it and dropping the original; with foreign keys
    enforced, that DROP deletes the rows and cascades (ON DELETE CASCADE) to every table referring to it —
    rebuilding `campaigns` would empty runs and messages. The pragma is ignored inside a transaction, so it is
    set on the driver connection before the migration's transaction begins; make_engine turns it on for
    every other connection."""
    if conn.dialect.name == "sqlite":
        conn.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
