"""Web fixtures shared by the page, API and webhook tests.

- `app`: create_app(config, database=database, clock=clock) with CSRF checks off, so tests post forms
  without fetching a token. `csrf_app` / `csrf_client` keep CSRF on (one test proves it is enforced).
- `client`: app.test_client().
- `make_user(role="marketer", email=None) -> User`: a user with password PASSWORD.
- `admin_user`: an admin (admin@example.com / PASSWORD); its existence also ends the first-run setup.
- `login(client, role="admin") -> User`: makes a user with that role and logs the client in via /login.
- `logged_in_client`: `client`, logged in as an admin.
- `api_token(role="marketer") -> str`: a bearer token for a new user with that role.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from core.users import User, create_user, issue_api_token
from web.app import create_app

PASSWORD = "correct horse battery"


@pytest.fixture
def app(config, database, clock):
    app = create_app(config, database=database, clock=clock)
    app.config["WTF_CSRF_ENABLED"] = False
    return app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def csrf_app(config, database, clock):
    return create_app(config, database=database, clock=clock)


@pytest.fixture
def csrf_client(csrf_app):
    return csrf_app.test_client()


@pytest.fixture
def make_user(database) -> Callable[..., User]:
    made: dict[str, int] = {}

    def make(role: str = "marketer", email: str | None = None) -> User:
        email = email or f"{role}{made.setdefault(role, 0) or ''}@example.com"
        made[role] = made.get(role, 0) + 1
        with database.session() as session:
            return create_user(session, email=email, password=PASSWORD, role=role, name=role.title())

    return make


@pytest.fixture
def admin_user(make_user) -> User:
    return make_user("admin", "admin@example.com")


@pytest.fixture
def login(make_user) -> Callable[..., User]:
    def log_in(client, role: str = "admin", *, remember: bool = False) -> User:
        user = make_user(role)
        data = {"email": user.email, "password": PASSWORD}
        if remember:
            data["remember"] = "on"
        response = client.post("/login", data=data)
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return user

    return log_in


@pytest.fixture
def logged_in_client(client, login):
    login(client, "admin")
    return client


@pytest.fixture
def api_token(make_user, database) -> Callable[..., str]:
    def token(role: str = "marketer") -> str:
        user = make_user(role)
        with database.session() as session:
            return issue_api_token(session, session.merge(user))

    return token
