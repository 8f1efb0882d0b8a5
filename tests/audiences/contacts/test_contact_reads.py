"""Contact reads other packages call (campaigns' templates and dispatch): one query each, never one per row."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from audiences import contacts_by_id, create_contact, first_contact, recent_attribute_names


def add(session, clock, n: int, **attributes):
    return create_contact(session, default_region="US", now=clock.now(), email=f"person{n}@example.com",
                          attributes=attributes)


@pytest.fixture
def selects(database):
    """The SELECT statements run on the test's engine from now on."""
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    event.listen(database.engine, "before_cursor_execute", record)
    yield statements
    event.remove(database.engine, "before_cursor_execute", record)


def test_attribute_names_come_from_the_most_recent_contacts_only(backend, session, clock, selects):
    add(session, clock, 1, loyalty="gold")  # oldest: outside a sample of 3
    add(session, clock, 2, tier="A", city="Shanghai")
    add(session, clock, 3)
    add(session, clock, 4, tier="B", 会员等级="银卡")
    selects.clear()

    assert recent_attribute_names(session, sample=3) == {"tier", "city", "会员等级"}
    assert len(selects) == 1
    assert recent_attribute_names(session, sample=10) == {"loyalty", "tier", "city", "会员等级"}


def test_the_first_contact_is_the_oldest_and_none_without_contacts(backend, session, clock, selects):
    assert first_contact(session) is None
    first = add(session, clock, 1)
    add(session, clock, 2)
    selects.clear()

    assert first_contact(session).id == first.id
    assert len(selects) == 1


def test_contacts_by_id_are_read_in_one_query_and_unknown_ids_left_out(backend, session, clock, selects):
    made = [add(session, clock, n, tier=str(n)) for n in range(5)]
    wanted = [made[0].id, made[3].id, made[4].id, 4040]
    session.expunge_all()  # read from the database, not from the session's identity map
    selects.clear()

    found = contacts_by_id(session, wanted)

    assert sorted(found) == [made[0].id, made[3].id, made[4].id]
    assert all(found[i].id == i for i in found) and found[made[3].id].attributes == {"tier": "3"}
    assert len(selects) == 1
    assert contacts_by_id(session, []) == {} and len(selects) == 1  # nothing asked, nothing run
