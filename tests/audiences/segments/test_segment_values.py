"""The values a free-text field holds, offered by the segment editor: 上海 and 上海市 side by side, most common
first, on SQLite and PostgreSQL; text custom fields too; names and addresses never."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from audiences import Contact, FieldValue, create_custom_field, field_values
from core.errors import Invalid

NOW = datetime(2026, 12, 28, 9, 0, tzinfo=UTC)


@pytest.fixture
def shanghai(backend, session):
    rows = [("上海", {"channel": "展会"}), ("上海", {"channel": "展会"}), ("上海市", {"channel": "官网"}),
            ("北京", {"channel": 5}), ("", {}), (None, {"channel": ""})]
    for n, (region, attributes) in enumerate(rows):
        session.add(Contact(email=f"c{n}@example.com", region=region, attributes=attributes, created_at=NOW,
                            updated_at=NOW))
    session.commit()
    return session


def test_region_offers_each_spelling_with_its_count(shanghai):
    assert field_values(shanghai, "region") == [FieldValue("上海", 2), FieldValue("上海市", 1), FieldValue("北京", 1)]
    assert field_values(shanghai, "region", limit=1) == [FieldValue("上海", 2)]


def test_a_text_attribute_offers_its_strings_only(shanghai):
    # The number 5 is not text a rule "is 5" would match as text; empty strings are not values.
    assert field_values(shanghai, "attributes.channel") == [FieldValue("展会", 2), FieldValue("官网", 1)]


def test_fields_whose_values_are_not_offered_are_refused_naming_them(shanghai, clock):
    for field in ("email", "phone", "first_name", "attributes.", "region; drop table contacts"):
        with pytest.raises(Invalid, match="has no values to offer") as info:
            field_values(shanghai, field)
        assert info.value.field == "field"
    create_custom_field(shanghai, key="points", label="积分", type="number", now=NOW)
    with pytest.raises(Invalid, match='custom field "points" is a number field'):
        field_values(shanghai, "attributes.points")
