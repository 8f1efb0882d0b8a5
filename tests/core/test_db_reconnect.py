"""PostgreSQL connections: no ping per checkout, yet a connection the server closed is never handed out."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, event, text

from core.db import Database, is_disconnect
from tests.conftest import PG_ADMIN_URL


def terminate(pid: int) -> None:
    """End a backend from outside, as a server restart or an idle timeout would, and wait until it is gone."""
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        assert conn.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid}).scalar()
    admin.dispose()


def backend_pid(database: Database) -> int:
    with database.session() as session:
        return session.execute(text("SELECT pg_backend_pid()")).scalar_one()


@pytest.mark.parametrize("backend", ["postgres"])
def test_checkout_sends_nothing_but_the_work(backend, database: Database):
    backend_pid(database)  # the pool now holds one connection
    statements: list[str] = []
    event.listen(database.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    with database.session() as session:
        assert session.execute(text("SELECT 41 + 1")).scalar_one() == 42
    assert statements == ["SELECT 41 + 1"]
    assert database.engine.pool._pre_ping is False  # a ping is a round trip per request, not a statement event


@pytest.mark.parametrize("backend", ["postgres"])
def test_a_connection_the_server_closed_while_pooled_is_replaced_at_checkout(backend, database: Database):
    first = backend_pid(database)
    terminate(first)
    # Without a ping, the dead connection is still recognised: this unit of work runs, on a new one.
    second = backend_pid(database)
    assert second != first
    assert backend_pid(database) == second  # and the new connection is pooled as usual


@pytest.mark.parametrize("backend", ["postgres"])
def test_a_connection_that_dies_during_work_says_so(backend, database: Database):
    with database.session() as session:
        pid = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
        terminate(pid)
        with pytest.raises(Exception) as raised:
            session.execute(text("SELECT 1"))
    assert is_disconnect(raised.value)
    assert backend_pid(database) != pid  # the next unit of work gets a live connection


def test_an_ordinary_database_error_is_not_a_disconnect(database: Database):
    with database.session() as session, pytest.raises(Exception) as raised:
        session.execute(text("SELECT * FROM no_such_table"))
    assert not is_disconnect(raised.value)
    assert not is_disconnect(ValueError("not a database error"))
