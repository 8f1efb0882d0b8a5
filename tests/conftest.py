"""Shared fixtures: every test gets its own config, its own freshly migrated database and a clock.

Databases are migrated once per session with `alembic upgrade head` into a template (a SQLite file,
a PostgreSQL template database) and each test gets a copy, so the migrations are what is tested
and a test costs milliseconds, not a migration run.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.clock import FrozenClock
from core.config import Config, load_config
from core.db import Database
from core.migrate import upgrade_database

PG_ADMIN_URL = os.environ.get("HERALD_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
# Each xdist worker (gw0, gw1, …) gets a Redis database of its own, counting down from 15, so a test that
# empties its database (tests/e2e/test_celery_worker_killed.py) cannot empty another worker's.
_WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
REDIS_URL = os.environ.get("HERALD_TEST_REDIS_URL", f"redis://127.0.0.1:6379/{15 - _WORKER % 14}")
REQUIRE_SERVICES = os.environ.get("HERALD_REQUIRE_SERVICES") == "1"


def service_missing(what: str, why: str) -> None:
    """Skip locally, fail in CI: a missing service must not turn the PostgreSQL suite green."""
    message = f"{what} is not reachable ({why}); start it — see README 'Tests'"
    if REQUIRE_SERVICES:
        pytest.fail(message + " (HERALD_REQUIRE_SERVICES=1)")
    pytest.skip(message)


# ---------------------------------------------------------------- SQLite
@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "herald.db"
    upgrade_database(f"sqlite:///{path}")
    return path


def _fresh_sqlite(template: Path, directory: Path) -> str:
    target = directory / "herald.db"
    shutil.copyfile(template, target)
    return f"sqlite:///{target}"


# ---------------------------------------------------------------- PostgreSQL
@pytest.fixture(scope="session")
def _pg_template() -> Iterator[str]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    try:
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any connection failure means "service missing"
        yield f"!{type(exc).__name__}: {str(exc).splitlines()[0]}"
        return
    name = f"herald_tpl_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    upgrade_database(url)
    yield name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _fresh_pg(template: str) -> tuple[str, str]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    if template.startswith("!"):
        service_missing(f"PostgreSQL at {PG_ADMIN_URL}", template[1:])
    name = f"herald_t_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    admin.dispose()
    return name, make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def _drop_pg(name: str) -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


# ---------------------------------------------------------------- per-test database
@pytest.fixture
def db_url(request, tmp_path, _sqlite_template) -> Iterator[str]:
    """A fresh, migrated database. SQLite unless the test is parametrized with `backend`."""
    callspec = getattr(request.node, "callspec", None)
    backend = callspec.params.get("backend", "sqlite") if callspec else "sqlite"
    if backend == "postgres":
        template = request.getfixturevalue("_pg_template")
        name, url = _fresh_pg(template)
        yield url
        _drop_pg(name)
    else:
        yield _fresh_sqlite(_sqlite_template, tmp_path)


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request) -> str:
    """Use in a test's arguments to run it on SQLite and on PostgreSQL."""
    return request.param


def make_config(tmp_path: Path, db_url: str, **env: str) -> Config:
    """A Config isolated from the developer's config.toml: an empty file plus these variables."""
    config_file = tmp_path / "config.toml"
    if not config_file.exists():
        config_file.write_text("# test config: everything comes from the environment\n")
    environ = {
        "HERALD_ENV": "test",
        "HERALD_DATABASE_URL": db_url,
        "HERALD_DATA_DIR": str(tmp_path / "var"),
        "HERALD_CHANNELS_EMAIL_URL": f"log://{tmp_path / 'outbox'}",
        "HERALD_CHANNELS_SMS_URL": f"log://{tmp_path / 'outbox'}",
        "HERALD_SENDER_POLL_SECONDS": "0.05",
        "HERALD_SCHEDULER_ENABLED": "false",
        # Tests run at any hour of the real day; those about quiet hours set them explicitly.
        "HERALD_CAMPAIGNS_QUIET_HOURS": "off",
    }
    environ.update(env)
    return load_config(config_file, environ)


@pytest.fixture
def config(tmp_path, db_url) -> Config:
    return make_config(tmp_path, db_url)


@pytest.fixture
def database(config) -> Iterator[Database]:
    db = Database(str(config.database_url))
    yield db
    db.dispose()


@pytest.fixture
def session(database):
    with database.session() as s:
        yield s


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def redis_url() -> str:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except Exception as exc:  # noqa: BLE001
        service_missing(f"Redis at {REDIS_URL}", str(exc))
    return REDIS_URL
