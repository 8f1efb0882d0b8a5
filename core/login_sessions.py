"""Logins the server knows about, so that a session can be ended for good.

A signed cookie alone cannot be revoked: a copy of it keeps working after logout, a password change
or a role change, until the key changes. Each login therefore gets a row here holding the hash of a
random token; the session and remember-me cookies carry the token (web/auth.py), and a cookie whose
row is gone or expired logs nobody in. Logging out deletes this login's row; changing a password or
a role, deactivating a user and "log out everywhere" delete all of the user's rows.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ForeignKey, Integer, String, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base, UTCDateTime
from core.ids import hash_token, new_token

# How long a login lasts at most, remembered or not: the remember-me cookie is given the same age.
LOGIN_DAYS = 14


class LoginSession(Base):
    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # the token itself is only in the cookie
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


def start_login_session(session: Session, user_id: int, *, now: datetime) -> str:
    """Record a new login of `user_id` and return its token (for the cookie; only its hash is kept). Commits.

    Expired logins of anyone are deleted on the way, so the table holds at most LOGIN_DAYS of logins.
    """
    session.execute(delete(LoginSession).where(LoginSession.expires_at <= now))
    token = new_token()
    session.add(LoginSession(user_id=user_id, token_hash=hash_token(token), created_at=now,
                             expires_at=now + timedelta(days=LOGIN_DAYS)))
    session.commit()
    return token


def login_session_is_live(session: Session, user_id: int, token: str, *, now: datetime) -> bool:
    """Whether `token` is a login of `user_id` that has not ended or expired."""
    if not token:
        return False
    found = session.scalar(select(LoginSession.id).where(
        LoginSession.token_hash == hash_token(token), LoginSession.user_id == user_id, LoginSession.expires_at > now))
    return found is not None


def end_login_session(session: Session, token: str) -> None:
    """End one login (logout): its cookies, and every copy of them, stop working. Commits."""
    if token:
        session.execute(delete(LoginSession).where(LoginSession.token_hash == hash_token(token)))
        session.commit()


def end_all_login_sessions(session: Session, user_id: int) -> int:
    """End every login of `user_id` on every browser. Returns how many ended. Flushes; the caller commits."""
    ended = session.execute(delete(LoginSession).where(LoginSession.user_id == user_id))
    return ended.rowcount or 0
