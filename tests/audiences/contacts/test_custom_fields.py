"""Custom fields: each type checks and stores its values, with messages that name the field and the fix."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from audiences import (
    Contact,
    create_contact,
    create_custom_field,
    delete_custom_field,
    update_contact,
    update_custom_field,
    validate_attributes,
)
from audiences.segments.json_sql import json_number
from core.errors import Invalid


@pytest.fixture
def fields(session, clock):
    now = clock.now()
    return {
        "level": create_custom_field(session, key="level", label="Membership level", type="choice",
                                     choices=["Gold", "Silver", " Gold "], now=now),
        "score": create_custom_field(session, key="score", label="Score", type="number", now=now),
        "joined": create_custom_field(session, key="joined", label="Joined on", type="date", now=now),
        "vip": create_custom_field(session, key="vip", label="VIP", type="boolean", now=now),
        "city": create_custom_field(session, key="city", label="City", type="text", now=now),
    }


@pytest.mark.parametrize(
    ("key", "raw", "stored"),
    [
        ("score", "1,234", 1234), ("score", " 3.5 ", 3.5), ("score", 7, 7), ("score", "-2", -2),
        ("joined", "2026/3/1", "2026-03-01"), ("joined", date(2027, 1, 31), "2027-01-31"),
        ("vip", "是", True), ("vip", "No", False), ("vip", True, True), ("vip", "1", True),
        ("level", "gold", "Gold"), ("level", "Silver", "Silver"),
        ("city", "  上海  ", "上海"),
        ("score", "", None), ("city", None, None),
    ],
)
def test_each_type_stores_its_values_typed(session, fields, key, raw, stored):
    clean, errors = validate_attributes(session, {key: raw})
    assert errors == []
    assert clean == {key: stored}
    assert type(clean[key]) is type(stored)


@pytest.mark.parametrize(
    ("key", "raw", "message"),
    [
        ("score", "abc", 'custom field "Score" (score) takes a number; "abc" is not one — write digits such as 42'),
        ("score", True, "takes a number"),
        ("score", "nan", "takes a number"),
        ("joined", "2026-02-30", 'custom field "Joined on" (joined) takes a date; "2026-02-30" is not one — write '
                                 "it as YYYY-MM-DD"),
        ("vip", "maybe", 'custom field "VIP" (vip) takes yes or no; "maybe" is neither'),
        ("level", "Bronze", 'custom field "Membership level" (level) takes one of Gold, Silver; "Bronze" is not one'),
        ("city", "x" * 1001, "is 1001 characters long; the limit is 1000"),
    ],
)
def test_bad_values_are_refused_naming_the_field_and_the_fix(session, fields, key, raw, message):
    clean, errors = validate_attributes(session, {key: raw, "free": "kept"})
    assert [e.field for e in errors] == [f"attributes.{key}"]
    assert message in errors[0].message
    assert clean == {"free": "kept"}  # the good values still come back, so an importer keeps them


def test_every_bad_value_of_a_contact_is_reported_at_once(session, clock, fields):
    with pytest.raises(Invalid) as caught:
        create_contact(session, default_region="US", now=clock.now(), email="ann@example.com",
                       attributes={"score": "high", "vip": "perhaps", "city": "Paris"})
    assert "Score" in caught.value.message and "VIP" in caught.value.message
    assert session.scalar(select(func.count()).select_from(Contact)) == 0


def test_typed_values_are_stored_and_compare_as_numbers(backend, session, clock, fields):
    now = clock.now()
    for score in ("9", "10", "100"):
        create_contact(session, default_region="US", now=now, email=f"p{score}@example.com",
                       attributes={"score": score, "joined": "2026-1-5", "vip": "yes", "level": "GOLD"})
    contact = session.scalars(select(Contact).order_by(Contact.id)).first()
    session.expire_all()
    assert contact.attributes == {"score": 9, "joined": "2026-01-05", "vip": True, "level": "Gold"}
    # Stored as JSON numbers, so 9 < 10 < 100 in SQL too (as text "9" > "100").
    bigger = session.scalar(select(func.count()).select_from(Contact).where(json_number("score") > 9.5))
    assert bigger == 2


def test_update_merges_attributes_and_an_empty_value_removes_one(session, clock, fields):
    contact = create_contact(session, default_region="US", now=clock.now(), email="ann@example.com",
                             attributes={"score": 5, "city": "Lyon", "note": "free text"})
    update_contact(session, contact.id, default_region="US", now=clock.now(),
                   changes={"attributes": {"score": "6", "city": ""}})
    session.expire_all()
    assert session.get(Contact, contact.id).attributes == {"score": 6, "note": "free text"}


def test_field_definitions_are_checked(session, clock, fields):
    now = clock.now()
    with pytest.raises(Invalid, match='field key "Level 2" must start with a lowercase letter'):
        create_custom_field(session, key="Level 2", label="x", type="text", now=now)
    with pytest.raises(Invalid, match='"email" is already a contact field'):
        create_custom_field(session, key="email", label="x", type="text", now=now)
    with pytest.raises(Invalid, match='a custom field with key "score" already exists'):
        create_custom_field(session, key="score", label="x", type="text", now=now)
    with pytest.raises(Invalid, match='field type "colour" is not known; use one of text, number, date, boolean'):
        create_custom_field(session, key="colour", label="x", type="colour", now=now)
    with pytest.raises(Invalid, match="a choice field needs at least one choice"):
        create_custom_field(session, key="size", label="Size", type="choice", choices=[" "], now=now)
    assert fields["level"].choices == ["Gold", "Silver"]


def test_changing_and_deleting_a_definition(session, clock, fields):
    update_custom_field(session, fields["level"].id, label="Level", type="choice", choices=["Gold", "Bronze"])
    clean, errors = validate_attributes(session, {"level": "bronze"})
    assert (clean, errors) == ({"level": "Bronze"}, [])
    assert delete_custom_field(session, fields["level"].id) == "level"
    # Without a definition the value is a free attribute again, kept as given.
    assert validate_attributes(session, {"level": "Anything"}) == ({"level": "Anything"}, [])
