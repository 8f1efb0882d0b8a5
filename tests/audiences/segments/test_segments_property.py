"""The segment compiler against a plain-Python reference: random rule trees over random contacts must select
exactly the contacts the reference picks, on SQLite and on PostgreSQL (issue 3, "Segment compiler").

The reference below is written from the meanings documented in audiences/segments/rules.py, not from its
SQL, so a compiler bug (a NULL that leaks through NOT, a JSON type confusion, a year-end wrap) shows up
as a difference. One database per backend; each example empties the contact tables first.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete

from audiences import Consent, Contact, ContactList, ContactTag, ListMember, Tag, segment_select

NOW = datetime(2026, 12, 30, 12, 0, tzinfo=UTC)
LIST_NAMES = ("VIP", "Fair")
TAG_NAMES = ("VIP", "展会", "new")

# Small value pools, so random rules and random contacts often meet. Letters are ASCII (either case) or
# CJK: "contains" ignores ASCII case on both databases, and other cased letters are outside its promise.
TEXT = st.text(alphabet="aAbZ_%芳王", max_size=3)
ATTRIBUTE_VALUES = st.sampled_from(["A", "B", "", "5", "a_", "tA", "-2.5", "90", "1.2.3", "5.", "-", "1-2", 5, 0,
                                    2.5, -1, 100, True, False])
ABSENT = object()


@st.composite
def contacts(draw) -> dict[str, Any]:
    attributes = {}
    for name in ("tier", "score"):
        value = draw(st.one_of(st.just(ABSENT), st.none(), ATTRIBUTE_VALUES))
        if value is not ABSENT:
            attributes[name] = value
    return {
        "first_name": draw(TEXT),
        "country": draw(st.sampled_from([None, "", "US", "CN", "GB"])),
        "birthday": draw(st.one_of(st.none(), st.sampled_from([date(2000, 2, 29), date(1990, 12, 31),
                                                               date(1985, 1, 1), date(1970, 3, 1)]),
                                   st.dates(date(1960, 1, 1), date(2005, 12, 31)))),
        "created_days_ago": draw(st.integers(0, 60)),
        "attributes": attributes,
        "lists": draw(st.sets(st.sampled_from(LIST_NAMES))),
        "consent": draw(st.sampled_from([None, "subscribed", "unsubscribed", "bounced"])),
        "tags": draw(st.sets(st.sampled_from(TAG_NAMES))),
        "rfm_recency": draw(st.one_of(st.none(), st.integers(1, 5))),
    }


def _day_text(day: date) -> str:
    return day.isoformat()


@st.composite
def conditions(draw) -> dict[str, Any]:
    field = draw(st.sampled_from(["first_name", "country", "birthday", "created_at", "attributes.tier",
                                  "attributes.score", "list", "consent.email", "tag", "rfm_recency"]))
    if field == "tag":
        op = draw(st.sampled_from(["in", "not_in", "all"]))
        return {"field": field, "op": op, "value": draw(st.lists(st.sampled_from([*TAG_NAMES, "nobody"]),
                                                                   min_size=1, max_size=3))}
    if field == "rfm_recency":
        op = draw(st.sampled_from(["eq", "neq", "in", "not_in", "gt", "lte", "between", "empty", "not_empty"]))
        value: Any = draw({"in": st.lists(st.integers(0, 6), min_size=1, max_size=3),
                           "not_in": st.lists(st.integers(0, 6), min_size=1, max_size=3),
                           "between": st.lists(st.integers(0, 6), min_size=2, max_size=2)}.get(op, st.integers(0, 6)))
        rule = {"field": field, "op": op}
        if op not in ("empty", "not_empty"):
            rule["value"] = value
        return rule
    if field in ("first_name", "country"):
        op = draw(st.sampled_from(["eq", "neq", "contains", "starts_with", "in", "not_in", "empty", "not_empty",
                                   "gt", "lte", "between"]))
        value: Any = draw({"in": st.lists(TEXT, min_size=1, max_size=3), "not_in": st.lists(TEXT, min_size=1,
                                                                                                max_size=3),
                           "between": st.lists(TEXT, min_size=2, max_size=2),
                           "contains": TEXT.filter(bool), "starts_with": TEXT.filter(bool)}.get(op, TEXT))
        if field == "country" and op in ("eq", "neq"):
            value = draw(st.sampled_from(["US", "CN", "", "gb"]))
    elif field == "birthday":
        op = draw(st.sampled_from(["birthday_within_days", "eq", "lt", "gte", "between", "empty", "not_empty"]))
        day = st.dates(date(1960, 1, 1), date(2005, 12, 31)).map(_day_text)
        value = {"birthday_within_days": st.integers(0, 400), "between": st.lists(day, min_size=2, max_size=2)}
        value = draw(value.get(op, day))
    elif field == "created_at":
        op = draw(st.sampled_from(["older_than_days", "newer_than_days", "gt", "lte"]))
        value = draw(st.integers(0, 60) if op.endswith("_days") else
                     st.integers(0, 60).map(lambda n: (NOW - timedelta(days=n)).isoformat()))
    elif field.startswith("attributes."):
        op = draw(st.sampled_from(["eq", "neq", "in", "not_in", "contains", "starts_with", "empty", "not_empty",
                                   "gt", "lte", "between"]))
        if op in ("eq", "neq"):
            value = draw(ATTRIBUTE_VALUES)
        elif op in ("in", "not_in"):
            value = draw(st.one_of(st.lists(st.sampled_from(["A", "B", "", "5"]), min_size=1, max_size=3),
                                   st.lists(st.sampled_from([5, 0, 2.5, 100]), min_size=1, max_size=3)))
        elif op in ("contains", "starts_with"):
            value = draw(st.sampled_from(["a", "A", "_", "5", "t", "F", "-"]))
        elif op == "between":
            value = draw(st.one_of(st.lists(st.integers(-2, 101), min_size=2, max_size=2),
                                   st.lists(st.sampled_from(["", "A", "B", "5"]), min_size=2, max_size=2)))
        else:
            value = draw(st.one_of(st.integers(-2, 101), st.sampled_from(["A", "5", ""])))
    elif field == "list":
        op = draw(st.sampled_from(["in", "not_in"]))
        value = draw(st.lists(st.sampled_from(LIST_NAMES), min_size=1, max_size=2))  # names; ids set later
    else:
        op = draw(st.sampled_from(["eq", "neq", "in", "not_in"]))
        status = st.sampled_from(["subscribed", "unsubscribed", "bounced", "complained"])
        value = draw(st.lists(status, min_size=1, max_size=2) if op.endswith("in") else status)
    rule = {"field": field, "op": op}
    if op not in ("empty", "not_empty"):
        rule["value"] = value
    return rule


def groups(children):
    return st.builds(lambda kind, items: {kind: items}, st.sampled_from(["all", "any"]),
                     st.lists(children, max_size=4))


RULES = groups(st.recursive(conditions(), groups, max_leaves=8))
TODAYS = st.sampled_from([date(2026, 12, 30), date(2027, 2, 27), date(2028, 2, 28), date(2026, 6, 1)])


# ---------------------------------------------------------------- the reference
def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def as_number(value: Any) -> float | None:
    """A number, or a string written as a plain decimal, as a float; None for anything else."""
    if is_number(value):
        return float(value)
    if isinstance(value, str) and DECIMAL.fullmatch(value):
        return float(value)
    return None


def is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def birthday_within(birthday: date | None, today: date, days: int) -> bool:
    if birthday is None:
        return False
    for offset in range(min(days, 400) + 1):
        day = today + timedelta(days=offset)
        if (birthday.month, birthday.day) == (day.month, day.day):
            return True
        if (birthday.month, birthday.day) == (2, 29) and (day.month, day.day) == (2, 28) and not is_leap(day.year):
            return True
    return False


def compare(value: Any, op: str, operand: Any) -> bool:
    """The positive operators over one value; None (missing) matches nothing."""
    if value is None:
        return False
    if op == "eq":
        return value == operand
    if op == "in":
        return value in operand
    if op == "contains":
        return operand.lower() in value.lower()
    if op == "starts_with":
        return value.lower().startswith(operand.lower())
    if op == "between":
        return operand[0] <= value <= operand[1]
    return {"gt": value > operand, "gte": value >= operand, "lt": value < operand, "lte": value <= operand}[op]


def reference(rule: dict[str, Any], person: dict[str, Any], today: date, list_ids: dict[str, int]) -> bool:
    if "all" in rule:
        return all(reference(r, person, today, list_ids) for r in rule["all"])
    if "any" in rule:
        return any(reference(r, person, today, list_ids) for r in rule["any"])
    field, op, operand = rule["field"], rule["op"], rule.get("value")
    negated = {"neq": "eq", "not_in": "in", "not_empty": "empty"}
    if op in negated:
        return not reference({**rule, "op": negated[op]}, person, today, list_ids)
    if field == "list":
        return bool({list_ids[name] for name in person["lists"]} & set(operand))
    if field == "tag":
        return set(operand) <= person["tags"] if op == "all" else bool(person["tags"] & set(operand))
    if field == "rfm_recency" and op == "empty":
        return person["rfm_recency"] is None
    if field == "consent.email":
        status = person["consent"] or "subscribed"
        return status == operand if op == "eq" else status in operand
    if field == "birthday":
        if op == "birthday_within_days":
            return birthday_within(person["birthday"], today, operand)
        if op == "empty":
            return person["birthday"] is None
        days = [date.fromisoformat(v) for v in operand] if isinstance(operand, list) else date.fromisoformat(operand)
        return compare(person["birthday"], op, days)
    if field == "created_at":
        created = NOW - timedelta(days=person["created_days_ago"])
        if op.endswith("_days"):
            since = datetime.combine(today - timedelta(days=operand), datetime.min.time(), tzinfo=UTC)
            return created < since if op == "older_than_days" else created >= since
        moments = ([datetime.fromisoformat(v) for v in operand] if isinstance(operand, list)
                   else datetime.fromisoformat(operand))
        return compare(created, op, moments)
    if field.startswith("attributes."):
        value = person["attributes"].get(field.removeprefix("attributes."))
        if op == "empty":
            return value is None or value == ""
        sample = operand[0] if isinstance(operand, list) else operand
        if isinstance(sample, bool):
            return value is sample
        if is_number(sample):
            return compare(as_number(value), op, operand)
        return isinstance(value, str) and compare(value, op, operand)
    value = person[field]
    if op == "empty":
        return value in (None, "")
    return compare(value, op, operand)


def with_list_ids(rule: dict[str, Any], list_ids: dict[str, int]) -> dict[str, Any]:
    if "all" in rule or "any" in rule:
        kind = "all" if "all" in rule else "any"
        return {kind: [with_list_ids(r, list_ids) for r in rule[kind]]}
    if rule["field"] == "list":
        return {**rule, "value": [list_ids[name] for name in rule["value"]]}
    return rule


# ---------------------------------------------------------------- the property
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(people=st.lists(contacts(), max_size=10), rules=RULES, today=TODAYS)
def test_sql_selects_exactly_the_contacts_the_python_reference_selects(backend, session, people, rules, today):
    list_ids = _lists(session)
    tag_ids = _tags(session)
    for table in (ContactTag, ListMember, Consent, Contact):
        session.execute(delete(table))
    session.commit()
    ids = []
    for person in people:
        contact = Contact(first_name=person["first_name"], country=person["country"], birthday=person["birthday"],
                          attributes=person["attributes"], rfm_recency=person["rfm_recency"],
                          created_at=NOW - timedelta(days=person["created_days_ago"]))
        session.add(contact)
        session.flush()
        ids.append(contact.id)
        session.add_all(ListMember(list_id=list_ids[name], contact_id=contact.id) for name in person["lists"])
        session.add_all(ContactTag(tag_id=tag_ids[name], contact_id=contact.id) for name in person["tags"])
        if person["consent"]:
            session.add(Consent(contact_id=contact.id, channel="email", status=person["consent"]))
    session.commit()
    session.expunge_all()

    rules_with_ids = with_list_ids(rules, list_ids)
    found = set(session.scalars(segment_select(rules_with_ids, today=today)))

    expected = {ids[i] for i, person in enumerate(people) if reference(rules_with_ids, person, today, list_ids)}
    assert found == expected


def _lists(session) -> dict[str, int]:
    existing = {lst.name: lst.id for lst in session.query(ContactList)}
    if not existing:
        session.add_all(ContactList(name=name) for name in LIST_NAMES)
        session.commit()
        existing = {lst.name: lst.id for lst in session.query(ContactList)}
    return existing


def _tags(session) -> dict[str, int]:
    existing = {tag.name: tag.id for tag in session.query(Tag)}
    if not existing:
        session.add_all(Tag(name=name) for name in TAG_NAMES)
        session.commit()
        existing = {tag.name: tag.id for tag in session.query(Tag)}
    return existing
