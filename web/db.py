"""One database session per request, closed at teardown (flaskr's get_db, over SQLAlchemy)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from flask import Flask, current_app, g
from sqlalchemy.orm import Session

from core.db import Database, is_disconnect

log = logging.getLogger("herald.web")
T = TypeVar("T")


def init_app(app: Flask, database: Database) -> None:
    app.extensions["herald.database"] = database
    app.teardown_appcontext(_close_session)


def get_database() -> Database:
    return current_app.extensions["herald.database"]


def get_session() -> Session:
    """The request's session. Domain functions commit; the view only passes it on."""
    if "db_session" not in g:
        g.db_session = get_database().sessions()
    return g.db_session


def _close_session(_exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.rollback()  # anything a domain function did not commit was not meant to land
        session.close()


def retrying_on_disconnect(work: Callable[[Session], T]) -> T:
    """`work(session)` on the request's session, and once more on a fresh one if the database
    connection turns out to be dead (the engine does not ping on checkout; see core.db).

    Only for work that is safe to repeat: the first try may have committed before the connection died.
    """
    try:
        return work(get_session())
    except Exception as exc:
        if not is_disconnect(exc):
            raise
        log.warning("event=database_reconnect reason=%r", str(exc).splitlines()[0])
        _close_session(exc)  # the pool has dropped the dead connection; the next session gets a new one
    return work(get_session())
