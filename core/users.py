"""Herald users: who may log in, with which role, and their API tokens.

Roles: admin (everything, including users), marketer (audiences, templates, campaigns),
analyst (read-only: lists, reports), approver (reads everything; approves or rejects campaigns when
approval is required, see campaigns/states.py).
"""

from __future__ import annotations

from datetime import datetime
from functools import cache

from sqlalchemy import Boolean, Integer, String, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash

from core.clock import utcnow
from core.db import Base, UTCDateTime
from core.ids import hash_token, new_token
from core.login_sessions import end_all_login_sessions

ROLES = ("admin", "marketer", "analyst", "approver")
MIN_PASSWORD_LENGTH = 8


class UserError(ValueError):
    """A user could not be created or changed; the message says why and what to do."""


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(20), default="marketer")
    locale: Mapped[str | None] = mapped_column(String(10), nullable=True)
    api_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # A deactivated user cannot log in and every login of theirs has ended; their contacts stay theirs.
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    # When the user said a dry-run channel (log://) is fine for now: the dashboard's first steps tick it.
    dry_run_ok_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    # Which login (core/login_sessions.py) this request belongs to; web/auth.py sets it. Not a column.
    login_token = None  # str | None; a plain attribute, since an annotation would make SQLAlchemy map it

    # Flask-Login's protocol, kept here so the web layer needs no wrapper class.
    is_anonymous = False

    @property
    def is_active(self) -> bool:
        return bool(self.active)

    @property
    def is_authenticated(self) -> bool:
        return True

    def get_id(self) -> str:
        """What the session and remember-me cookies carry: the user and their login, "<id>:<token>"."""
        return f"{self.id}:{self.login_token or ''}"

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def can(self, action: str) -> bool:
        """`read` for everyone; `write` for admin and marketer; `approve` for admin and approver;
        `admin` for admin only."""
        if action == "read":
            return True
        if action == "write":
            return self.role in ("admin", "marketer")
        if action == "approve":
            return self.role in ("admin", "approver")
        return self.role == "admin"


def create_user(session: Session, *, email: str, password: str, role: str = "marketer", name: str = "") -> User:
    """Create a user and commit. Raises UserError for a bad role, a short password or a taken email."""
    email = email.strip().lower()
    if "@" not in email:
        raise UserError(f"{email!r} is not an email address")
    if role not in ROLES:
        raise UserError(f"role {role!r} is unknown; choose one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    if session.scalar(select(User).where(User.email == email)):
        raise UserError(f"a user with email {email} already exists")
    user = User(email=email, name=name, role=role, password_hash=generate_password_hash(password))
    session.add(user)
    session.commit()
    return user


def set_password(session: Session, user: User, password: str) -> None:
    """Change the password and end every login of the user (a thief's copy of a cookie too). Commits."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    user.password_hash = generate_password_hash(password)
    end_all_login_sessions(session, user.id)
    session.commit()


def set_role(session: Session, user: User, role: str) -> None:
    """Give the user another role and end their logins, so no open page keeps the old rights. Commits.

    Raises UserError for an unknown role.
    """
    if role not in ROLES:
        raise UserError(f"role {role!r} is unknown; choose one of {', '.join(ROLES)}")
    user.role = role
    end_all_login_sessions(session, user.id)
    session.commit()


def set_user_active(session: Session, user: User, active: bool) -> None:
    """Deactivate (ending every login) or reactivate a user. Commits."""
    user.active = active
    if not active:
        end_all_login_sessions(session, user.id)
    session.commit()


def log_out_everywhere(session: Session, user: User) -> int:
    """End every login of the user on every browser. Returns how many ended. Commits."""
    ended = end_all_login_sessions(session, user.id)
    session.commit()
    return ended


def issue_api_token(session: Session, user: User) -> str:
    """Give the user a new API token (replacing any old one) and return it; only its hash is kept."""
    token = new_token()
    user.api_token_hash = hash_token(token)
    session.commit()
    return token


def find_user_by_token(session: Session, token: str) -> User | None:
    if not token:
        return None
    return session.scalar(select(User).where(User.api_token_hash == hash_token(token)))


def get_user(session: Session, user_id: int) -> User:
    """The user with this id; raises UserError if there is none."""
    user = session.get(User, user_id)
    if user is None:
        raise UserError(f"there is no user with id {user_id}; reload the users page")
    return user


def find_user_by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == email.strip().lower()))


@cache
def _unknown_user_hash() -> str:
    """A hash of a random password, made the way real ones are, for emails that match no user."""
    return generate_password_hash(new_token())


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The active user with this email and password, else None.

    An unknown email is checked against a dummy hash: answering it without the (deliberately slow)
    hash would tell an attacker, by the time taken, which emails have accounts.
    """
    user = find_user_by_email(session, email)
    if user is None:
        check_password_hash(_unknown_user_hash(), password)
        return None
    if user.check_password(password) and user.is_active:
        return user
    return None


def count_users(session: Session) -> int:
    from sqlalchemy import func

    return session.scalar(select(func.count(User.id))) or 0


def create_first_admin(session: Session, *, email: str, password: str, name: str = "") -> User:
    """Create the first admin, only while there are no users at all (the first-run setup page).

    Two setup forms posted at the same moment must not both succeed: the check and the insert run
    in one transaction that locks the users table (SQLite's BEGIN IMMEDIATE already serialises it).
    Raises UserError if a user exists by then.
    """
    from sqlalchemy import text

    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE"))
    if count_users(session):
        session.rollback()
        raise UserError("Herald is already set up; log in, or ask an admin for an account")
    return create_user(session, email=email, password=password, role="admin", name=name)


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.email)))


def accept_dry_run(session: Session, user: User, *, now: datetime) -> None:
    """Record that `user` is fine with a dry-run channel for now (the dashboard's first steps); commits."""
    user.dry_run_ok_at = now
    session.commit()


def set_locale(session: Session, user: User, locale: str | None) -> None:
    """Remember the user's UI language (None: follow the default)."""
    user.locale = locale
    session.commit()
