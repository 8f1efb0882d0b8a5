"""The database: one declarative Base for every package's models, the engine and sessions.

SQLite runs in WAL mode with a busy timeout so the web process and the sender threads can share
the file; PostgreSQL is used as it is. Schema changes go through Alembic (migrations/), never
create_all(), so the migrations are what the tests exercise.
"""

from __future__ import annotations

import select
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, MetaData, create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

# Named constraints keep Alembic migrations stable across SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps are stored in UTC and always come back timezone-aware.

    SQLite has no time zone type, so without this a value read back would be naive and compare
    wrongly against an aware `now`.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:  # type: ignore[override]
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given for a UTC column; pass an aware datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:  # type: ignore[override]
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def make_engine(url: str) -> Engine:
    """Create the engine for a database URL; for SQLite, create the file's folder and enable WAL."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record) -> None:
            # Let SQLAlchemy, not pysqlite, decide when a transaction begins: pysqlite's own
            # BEGIN handling defers it past the first SELECT, which breaks claim atomicity.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn) -> None:
            # IMMEDIATE takes the write lock up front, so two writers queue on busy_timeout
            # instead of one failing with "database is locked" when it upgrades its read lock.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    if parsed.get_driver_name() not in LIBPQ_DRIVERS:
        return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
    engine = create_engine(url, pool_size=10, max_overflow=20, pool_recycle=POOL_RECYCLE_SECONDS,
                           connect_args=_keepalives(parsed.query))
    # No pool_pre_ping: it costs a round trip on every checkout, a third of a status callback's
    # database time. A dead connection is found without one instead (see _refuse_dead_connection),
    # and what slips past that fails with connection_invalidated, which callers may retry once
    # (is_disconnect; web.db.retrying_on_disconnect).
    event.listen(engine, "checkout", _refuse_dead_connection)
    return engine


# Drivers over libpq, whose connections expose their socket (fileno) and take keepalive settings.
LIBPQ_DRIVERS = ("psycopg", "psycopg2")


# Connections older than this are replaced at checkout, before a firewall or proxy that forgets idle
# connections silently (no RST, so nothing shows on the socket) can have dropped them.
POOL_RECYCLE_SECONDS = 1800
# libpq TCP keepalives: a peer that vanished silently makes the idle socket report an error within
# about a minute and a half, which the checkout test below then sees. A URL's own settings win.
KEEPALIVES = {"keepalives": 1, "keepalives_idle": 60, "keepalives_interval": 10, "keepalives_count": 3}


def _keepalives(query: Any) -> dict[str, int]:
    return {key: value for key, value in KEEPALIVES.items() if key not in query}


def _refuse_dead_connection(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Pool checkout: discard a connection the server or network has closed, with no round trip.

    A pooled connection sits idle between transactions, so the server has nothing to say on it: if
    its socket is readable, that is the server's goodbye (a restart's or pg_terminate_backend's FATAL
    and EOF) or a socket error (keepalives gave up). Raising DisconnectionError makes the pool throw
    the connection away and check out another (a fresh one after a restart). The test is one poll(2)
    with a zero timeout, microseconds against pool_pre_ping's SELECT 1. Should the server ever send
    something unasked on an idle connection, the cost is one needless reconnect, never a wrong answer.
    """
    if getattr(dbapi_connection, "closed", False) or getattr(dbapi_connection, "broken", False):
        raise DisconnectionError("the database connection was closed")
    try:
        fd = dbapi_connection.fileno()
    except Exception as exc:  # noqa: BLE001 - psycopg raises OperationalError once the socket is gone
        raise DisconnectionError(f"the database connection has no socket: {exc}") from exc
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLPRI)
    if poller.poll(0):
        raise DisconnectionError("the database server closed the connection while it was idle in the pool")


def is_disconnect(exc: BaseException) -> bool:
    """Whether `exc` says the database connection died (SQLAlchemy has invalidated it and the pool's
    older connections): the unit of work never reached the database or its commit may be lost."""
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


class Database:
    """Engine plus session factory. One per process; passed down, never a module global."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session for one unit of work; rolled back if the block raises, always closed."""
        session = self.sessions()
        try:
            yield session
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()
