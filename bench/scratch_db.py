"""A throwaway PostgreSQL database for one benchmark run: created empty, dropped afterwards unless kept."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


@contextmanager
def scratch_database(pg_url: str, label: str, *, keep: bool) -> Iterator[str]:
    """Yield the URL of a new database on `pg_url`'s server (its user may create databases).

    Dropped WITH (FORCE) at the end, so a benchmark that dies half-way leaves nothing behind; with
    `keep` it stays, and its name is printed so a later run can time it again.
    """
    name = f"herald_bench_{label}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(pg_url).set(database=name).render_as_string(hide_password=False)
    finally:
        if keep:
            print(f"kept database {name}")
        else:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
