"""Segment conditions beyond the contact's columns: tags, lifecycle and tier, RFM scores and owner, typed custom
fields relative to today, important dates by kind; and the registration hook, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest

from audiences import Contact, ContactDate, ContactTag, SegmentRuleInvalid, Tag, segment_select
from audiences.segments.rules import ConditionKind, register_condition

TODAY = date(2026, 12, 28)
NOW = datetime(2026, 12, 28, 9, 0, tzinfo=UTC)


@pytest.fixture
def people(backend, session):
    def add(name: str, *, tags=(), dates=(), **fields) -> int:
        contact = Contact(first_name=name, email=f"{name}@example.com", created_at=NOW,
                          attributes=fields.pop("attributes", {}), **fields)
        session.add(contact)
        session.flush()
        for tag in tags:
            found = session.query(Tag).filter_by(name=tag).one_or_none() or Tag(name=tag)
            session.add(found)
            session.flush()
            session.add(ContactTag(contact_id=contact.id, tag_id=found.id))
        session.add_all(ContactDate(contact_id=contact.id, kind=kind, date=when) for kind, when in dates)
        session.commit()
        return contact.id

    return {
        "ann": add("ann", tags=["VIP", "展会2026"], lifecycle_stage="vip", value_tier="A", rfm_recency=5,
                   rfm_monetary=4, attributes={"renewal": "2027-01-03", "member": True, "points": 90},
                   dates=[("contract_renewal", date(2027, 1, 2)), ("company_anniversary", date(2010, 1, 1))]),
        "bob": add("bob", tags=["VIP"], lifecycle_stage="dormant", value_tier="B", rfm_recency=1,
                   attributes={"renewal": "2026-12-01", "member": False, "points": "12"},
                   dates=[("contract_renewal", date(2026, 12, 20))]),
        "cat": add("cat", value_tier="C", attributes={"renewal": "2028-01-01", "points": 40}),
        "dan": add("dan", tags=["展会2026"]),
    }


def matching(session, people, rule) -> set[str]:
    names = {v: k for k, v in people.items()}
    return {names[i] for i in session.scalars(segment_select({"all": [rule]}, today=TODAY))}


CASES = [
    ({"field": "tag", "op": "in", "value": ["VIP"]}, {"ann", "bob"}),
    ({"field": "tag", "op": "in", "value": ["展会2026", "nope"]}, {"ann", "dan"}),
    ({"field": "tag", "op": "not_in", "value": ["VIP"]}, {"cat", "dan"}),
    ({"field": "tag", "op": "all", "value": ["VIP", "展会2026"]}, {"ann"}),
    ({"field": "lifecycle_stage", "op": "in", "value": ["vip", "dormant"]}, {"ann", "bob"}),
    ({"field": "value_tier", "op": "neq", "value": "A"}, {"bob", "cat", "dan"}),
    ({"field": "rfm_recency", "op": "gte", "value": 4}, {"ann"}),
    ({"field": "rfm_recency", "op": "neq", "value": 5}, {"bob", "cat", "dan"}),  # no score counts as "not 5"
    ({"field": "rfm_monetary", "op": "empty"}, {"bob", "cat", "dan"}),
    ({"field": "rfm_recency", "op": "between", "value": [1, 3]}, {"bob"}),
    ({"field": "attributes.renewal", "op": "in_next_days", "value": 7}, {"ann"}),
    ({"field": "attributes.renewal", "op": "in_last_days", "value": 30}, {"bob"}),
    ({"field": "attributes.renewal", "op": "not_in_last_days", "value": 30}, {"ann", "cat", "dan"}),
    ({"field": "attributes.member", "op": "eq", "value": True}, {"ann"}),
    ({"field": "attributes.points", "op": "between", "value": [10, 50]}, {"bob", "cat"}),
    ({"field": "date.contract_renewal", "op": "in_next_days", "value": 7}, {"ann"}),
    ({"field": "date.contract_renewal", "op": "in_last_days", "value": 10}, {"bob"}),
    ({"field": "date.company_anniversary", "op": "anniversary_within_days", "value": 5}, {"ann"}),
    ({"field": "date.company_anniversary", "op": "anniversary_within_days", "value": 2}, set()),
    ({"field": "date.membership", "op": "in_next_days", "value": 365}, set()),
]


@pytest.mark.parametrize(("rule", "expected"), CASES)
def test_each_condition_selects_the_same_contacts_on_both_databases(session, people, rule, expected):
    assert matching(session, people, rule) == expected


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"field": "tag", "op": "in", "value": "VIP"}, 'rules.all[0].value must be a list of 1 to 1000 tag names for '
                                                      'tag "in", not a string'),
        ({"field": "tag", "op": "eq", "value": ["VIP"]}, 'rules.all[0].op "eq" does not apply to tag; use one of: in, '
                                                         "not_in, all"),
        ({"field": "rfm_recency", "op": "gt", "value": "4"}, "must be a whole number for rfm_recency"),
        ({"field": "date.renewal", "op": "in_next_days", "value": -1}, "a whole number of days from 0"),
        ({"field": "date.", "op": "in_next_days", "value": 1}, '"date." is not a contact field'),
        ({"field": "attributes.renewal", "op": "in_next_days", "value": "7"}, "a whole number of days"),
    ],
)
def test_bad_conditions_are_refused_naming_the_rule(rule, message):
    with pytest.raises(SegmentRuleInvalid, match=re.escape(message)):
        segment_select({"all": [rule]}, today=TODAY)


def test_a_registered_condition_is_checked_and_compiled_like_the_built_in_ones(session, people):
    def check(op, value, fail):
        if value not in ("a", "b"):
            raise fail('"a" or "b"')
        return value

    register_condition("initial", ConditionKind(
        ops=("eq", "neq"), check=check, compile=lambda rule, today: Contact.first_name.startswith(rule.value)))

    assert matching(session, people, {"field": "initial", "op": "eq", "value": "a"}) == {"ann"}
    assert matching(session, people, {"field": "initial", "op": "neq", "value": "a"}) == {"bob", "cat", "dan"}
    with pytest.raises(SegmentRuleInvalid, match='rules.all\\[0\\].value must be "a" or "b" for initial "eq"'):
        segment_select({"all": [{"field": "initial", "op": "eq", "value": "z"}]}, today=TODAY)
