"""One database session per request, closed at teardown (flaskr's get_db, over SQLAlchemy)."""

from __future__ import annotations

from flask import Flask, current_app, g
from sqlalchemy.orm import Session

from core.db import Database


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
