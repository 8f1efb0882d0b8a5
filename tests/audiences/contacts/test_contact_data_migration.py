"""Upgrading a database that holds data: migration 0005 turns current consents into the first history
entries and, on PostgreSQL, the attributes into jsonb with their values intact; and no migration's table
rebuild on SQLite (batch mode) deletes rows through ON DELETE CASCADE."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from core.migrate import upgrade_database
from tests.conftest import PG_ADMIN_URL, service_missing


@pytest.fixture
def blank_url(backend, tmp_path):
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'blank.db'}"
        return
    name = f"herald_m_{uuid.uuid4().hex[:10]}"
    try:
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - any connection failure means "service missing"
        service_missing(f"PostgreSQL at {PG_ADMIN_URL}", str(exc).splitlines()[0])
    yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_upgrade_keeps_consents_as_history_and_attributes_as_they_were(backend, blank_url):
    upgrade_database(blank_url, "0004")
    engine = create_engine(blank_url)
    try:
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO contacts (id, email, first_name, last_name, company, attributes, created_at, updated_at) "
                "VALUES (1, 'ann@example.com', 'Ann', '', '', :attributes, :now, :now)"),
                {"attributes": '{"tier": "A", "score": 90, "vip": true}', "now": "2026-01-05 09:00:00"})
            conn.execute(text("INSERT INTO consents (contact_id, channel, status, source, changed_at) "
                              "VALUES (1, 'email', 'unsubscribed', 'unsubscribe link', :now)"),
                         {"now": "2026-01-05 09:00:00"})
            # A sent campaign: rebuilding campaigns or messages must not cascade into runs, messages, events.
            now = {"now": "2026-01-05 09:00:00"}
            conn.execute(text("INSERT INTO templates (id, name, channel, subject, html, text, body, created_at, "
                              "updated_at) VALUES (1, 'T', 'email', 'Hi', '<p>Hi</p>', '', '', :now, :now)"), now)
            conn.execute(text("INSERT INTO campaigns (id, name, kind, channel, template_id, status, guarantee, "
                              "created_at, updated_at) VALUES (1, 'C', 'broadcast', 'email', 1, 'completed', "
                              "'at_most_once', :now, :now)"), now)
            conn.execute(text("INSERT INTO runs (id, campaign_id, occasion_key, status, channel_url, dry_run, "
                              "started_at) VALUES (1, 1, 'once', 'completed', 'log://', :no, :now)"),
                         {**now, "no": False})
            conn.execute(text("INSERT INTO messages (id, run_id, campaign_id, contact_id, channel, status, priority, "
                              "not_before, attempts) VALUES (1, 1, 1, 1, 'email', 'sent', 100, :now, 1)"), now)
            conn.execute(text("INSERT INTO message_events (message_id, type, occurred_at, detail) "
                              "VALUES (1, 'sent', :now, '{}')"), now)
        upgrade_database(blank_url)
        with engine.connect() as conn:
            history = conn.execute(text("SELECT channel, status, source FROM consent_changes")).all()
            assert [tuple(row) for row in history] == [("email", "unsubscribed", "unsubscribe link")]
            if backend == "postgres":
                kind = conn.execute(text("SELECT pg_typeof(attributes)::text, attributes ->> 'tier', "
                                         "jsonb_typeof(attributes -> 'score') FROM contacts")).one()
                assert tuple(kind) == ("jsonb", "A", "number")
            row = conn.execute(text("SELECT region, owner_id, lifecycle_stage FROM contacts")).one()
            assert tuple(row) == (None, None, None)
            for table in ("contacts", "consents", "campaigns", "runs", "messages", "message_events"):
                assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar() == 1, table
    finally:
        engine.dispose()
