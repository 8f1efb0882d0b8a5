"""audience_select: one SELECT that says who a campaign reaches, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select

from audiences import add_to_list, audience_select, create_contact, create_list, set_consent
from core.errors import Invalid


@pytest.fixture
def people(backend, session, clock):
    """Four contacts with different addresses and consents, and a list holding two of them."""
    now = clock.now()

    def make(**fields):
        return create_contact(session, default_region="US", now=now, **fields).id

    ids = {
        "ann": make(first_name="Ann", email="ann@example.com", phone="+12015550101"),
        "bob": make(first_name="Bob", email="bob@example.com"),
        "cat": make(first_name="Cat", phone="+12015550103"),
        "dan": make(first_name="Dan", email="dan@example.com", phone="+12015550104"),
    }
    set_consent(session, ids["bob"], "email", "unsubscribed", source="unsubscribe link", now=now)
    set_consent(session, ids["cat"], "sms", "subscribed", source="form", now=now)
    set_consent(session, ids["cat"], "email", "bounced", source="smtp", now=now)
    set_consent(session, ids["dan"], "sms", "complained", source="carrier", now=now)
    set_consent(session, ids["dan"], "email", "subscribed", source="form", now=now)
    vip = create_list(session, "VIP")
    add_to_list(session, vip.id, [ids["ann"], ids["cat"]], now=now)
    return ids, vip.id


def recipients(session, list_id, channel):
    rows = session.execute(audience_select(list_id, channel)).all()
    return {row.contact_id: (row.address, row.reachable) for row in rows}


def test_email_audience_of_everyone(session, people):
    ids, _ = people

    assert recipients(session, None, "email") == {
        ids["ann"]: ("ann@example.com", 1),
        ids["bob"]: ("bob@example.com", 0),  # unsubscribed
        ids["cat"]: (None, 0),  # no address
        ids["dan"]: ("dan@example.com", 1),  # subscribed
    }


def test_sms_audience_of_everyone(session, people):
    ids, _ = people

    assert recipients(session, None, "sms") == {
        ids["ann"]: ("+12015550101", 1),  # no consent row: opt-out model
        ids["bob"]: (None, 0),
        ids["cat"]: ("+12015550103", 1),  # an email bounce does not stop SMS
        ids["dan"]: ("+12015550104", 0),  # complained
    }


def test_list_audience_holds_only_members(session, people):
    ids, vip = people

    assert recipients(session, vip, "email") == {ids["ann"]: ("ann@example.com", 1), ids["cat"]: (None, 0)}
    assert recipients(session, vip, "sms") == {ids["ann"]: ("+12015550101", 1), ids["cat"]: ("+12015550103", 1)}


def test_columns_are_named_and_ordered_for_insert_select(session, people):
    _, vip = people
    query = audience_select(vip, "sms")
    columns = ["contact_id", "address", "reachable", "time_zone", "suppressed_listed"]
    assert [c.name for c in query.selected_columns] == columns

    # What campaigns does with it: INSERT … SELECT in one statement, here into a scratch table.
    scratch = Table(
        "audience_scratch",
        MetaData(),
        Column("contact_id", Integer),
        Column("address", String(254)),
        Column("reachable", Integer),
        Column("time_zone", String(64)),
        Column("suppressed_listed", Integer),
        prefixes=["TEMPORARY"],
    )
    connection = session.connection()
    scratch.create(connection)
    connection.execute(insert(scratch).from_select(columns, query))
    assert connection.execute(select(func.count(), func.sum(scratch.c.reachable))).one() == (2, 2)


def test_unknown_channel_is_refused():
    with pytest.raises(Invalid, match='channel "fax" is not known; known channels: email, sms'):
        audience_select(None, "fax")
