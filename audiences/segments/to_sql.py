"""Compiling a checked rule tree (rules.py) into ONE boolean SQL expression over `contacts`.

What each condition means is documented at the top of rules.py; this module is the SQL for it.
Conditions registered from outside (fields.py, campaigns/segment_conditions.py) compile through
their own ConditionKind.compile.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    and_,
    case,
    cast,
    exists,
    extract,
    false,
    func,
    or_,
    true,
)

from audiences.models import Consent, Contact, ListMember
from audiences.segments.json_sql import Bytewise, json_is, json_number
from audiences.segments.rules import NEGATIONS, Condition, Group, field_kind, registered_kind


def compile_rules(tree: Group, *, today: date) -> ColumnElement[bool]:
    """One boolean SQL expression over `contacts` for a checked tree."""
    parts = [compile_rules(item, today=today) if isinstance(item, Group) else compile_condition(item, today=today)
             for item in tree.items]
    if not parts:
        return true() if tree.kind == "all" else false()
    return and_(*parts) if tree.kind == "all" else or_(*parts)


def compile_condition(rule: Condition, *, today: date) -> ColumnElement[bool]:
    """One condition as SQL. `neq`/`not_in`/`not_empty` are NOT of their positive, NULL counted as false."""
    if rule.op in NEGATIONS:
        positive = Condition(rule.path, rule.field, NEGATIONS[rule.op], rule.value)
        compiled = compile_condition(positive, today=today)
        # NOT of a NULL is NULL, which would drop the contacts with no value; COALESCE makes it false
        # first. Skipped where the positive is never NULL, as it is the one part PostgreSQL cannot
        # simplify away (measured: ~5% of a 10-condition count at 1M contacts).
        return ~compiled if _never_null(positive) else ~func.coalesce(compiled, false())
    kind = field_kind(rule.field)
    if kind == "registered":
        registered = registered_kind(rule.field)
        assert registered is not None
        return registered.compile(rule, today)
    if kind == "list":
        return exists().where(ListMember.contact_id == Contact.id, ListMember.list_id.in_(rule.value))
    if kind == "consent":
        return _consent_in(rule.field.removeprefix("consent."), [rule.value] if rule.op == "eq" else rule.value)
    if kind == "birthday" and rule.op == "birthday_within_days":
        return _birthday_within(rule.value, today)
    if kind == "created_at" and rule.op in ("older_than_days", "newer_than_days"):
        since = datetime.combine(today - timedelta(days=rule.value), time(), tzinfo=UTC)
        return Contact.created_at < since if rule.op == "older_than_days" else Contact.created_at >= since
    if kind == "attribute":
        return _attribute_condition(rule, today)
    column = getattr(Contact, rule.field)
    if rule.op == "empty":
        return func.coalesce(column, "") == "" if kind == "text" else column.is_(None)
    if kind == "text":
        return _compare(column, rule.op, rule.value, text=True)
    return _compare(column, rule.op, rule.value, text=False)


def _consent_in(channel: str, statuses: list[str]) -> ColumnElement[bool]:
    """The contact's consent on `channel` is one of `statuses`; no row means "subscribed".

    Written as [NOT] EXISTS rather than COALESCE((SELECT status …), 'subscribed'): PostgreSQL turns an
    EXISTS among ANDed conditions into a semi- or anti-join over consents, where the scalar sub-select
    is a lookup per contact. At most one row per (contact, channel) (unique key), so "no row, or a row
    in S" is "no row outside S".
    """
    rows = exists().where(Consent.contact_id == Contact.id, Consent.channel == channel)
    if "subscribed" in statuses:
        return ~rows.where(Consent.status.not_in(statuses))
    return rows.where(Consent.status.in_(statuses))


# Text columns the model declares NOT NULL (default ""): eq/in over them is never NULL.
NOT_NULL_TEXT = ("first_name", "last_name", "company")


def _never_null(rule: Condition) -> bool:
    kind = field_kind(rule.field)
    if kind == "registered":
        registered = registered_kind(rule.field)
        return registered is not None and registered.never_null
    return rule.op == "empty" or kind in ("list", "consent") or (kind == "text" and rule.field in NOT_NULL_TEXT)


def _compare(value: Any, op: str, operand: Any, *, text: bool) -> ColumnElement[bool]:
    if op in ("contains", "starts_with"):
        # lower() only when the value has letters with a case: "北" or "138" match the same without it,
        # and lower() costs a pass over every row's text.
        subject = func.lower(value) if operand.lower() != operand.upper() else value
        if op == "contains":
            return subject.contains(operand.lower(), autoescape=True)
        return subject.startswith(operand.lower(), autoescape=True)
    if op == "eq":
        return value == operand
    if op == "in":
        return value.in_(operand)
    ordered = Bytewise(value) if text else value
    comparisons: Mapping[str, Callable[[], ColumnElement[bool]]] = {
        "gt": lambda: ordered > operand, "gte": lambda: ordered >= operand,
        "lt": lambda: ordered < operand, "lte": lambda: ordered <= operand,
        "between": lambda: ordered.between(operand[0], operand[1]),
    }
    return comparisons[op]()


def _attribute_condition(rule: Condition, today: date) -> ColumnElement[bool]:
    name = rule.field.removeprefix("attributes.")
    accessor = Contact.attributes[name]
    if rule.op == "empty":
        return func.coalesce(accessor.as_string(), "") == ""
    if rule.op in ("in_next_days", "in_last_days"):
        # Dates are stored as ISO text, which sorts as dates do: a window is a text range.
        low, high = (today, today + timedelta(days=rule.value)) if rule.op == "in_next_days" else \
            (today - timedelta(days=rule.value), today)
        text_date = case((json_is(name, "string"), accessor.as_string()), else_=None)
        return _compare(text_date, "between", [low.isoformat(), high.isoformat()], text=True)
    sample = rule.value[0] if isinstance(rule.value, list) else rule.value
    if isinstance(sample, bool):
        return json_is(name, "true" if sample else "false")
    if isinstance(sample, int | float):
        number = json_number(name)
        operand = [float(v) for v in rule.value] if isinstance(rule.value, list) else float(rule.value)
        return _compare(number, rule.op, operand, text=False)
    text = accessor.as_string()
    # Equality needs no type test unless the value reads as JSON ("5", "true", "[1]"): no other JSON type
    # extracts to plain text such as "A" on either dialect, and skipping the test halves the JSON parsing
    # PostgreSQL does per row (its json type re-parses the document for each operator).
    values = rule.value if isinstance(rule.value, list) else [rule.value]
    if _needs_string_test(rule.op, values):
        text = case((json_is(name, "string"), text), else_=None)
    return _compare(text, rule.op, rule.value, text=True)


def _needs_string_test(op: str, values: list[str]) -> bool:
    """Whether a non-string JSON value could pass this text test without a JSON type test.

    Each type test is one more parse of the whole attributes document per row on PostgreSQL's json
    type, so it is left out where no other JSON type can match: equality with a value that does not
    read as JSON, and a prefix that no number, boolean, object or array text starts with.
    """
    if op in ("eq", "in"):
        return any(_reads_as_json(v) for v in values)
    if op == "starts_with":
        return values[0].lower()[0] in "-0123456789tf{["
    return True


def _reads_as_json(value: str) -> bool:
    try:
        json.loads(value)
    except ValueError:
        return False
    return True


def birthday_keys(today: date, days: int) -> list[int]:
    """month*100 + day for each birthday that falls on today … today+days, as a sorted list.

    Computed here, not in SQL, because date arithmetic is where SQLite and PostgreSQL differ most
    (no make_date on SQLite, no 29 February in most years); the SQL is then one `IN (...)` over
    EXTRACT(month/day), which both run the same way. A window of a year or more is every day.
    """
    keys: set[int] = set()
    for offset in range(min(days, 366) + 1):
        day = today + timedelta(days=offset)
        keys.add(day.month * 100 + day.day)
        if day.month == 2 and day.day == 28 and not _is_leap(day.year):
            keys.add(229)  # a 29 February birthday is kept on the 28th in other years
    return sorted(keys)


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _birthday_within(days: int, today: date) -> ColumnElement[bool]:
    month_day = cast(extract("month", Contact.birthday), Integer) * 100 + cast(extract("day", Contact.birthday),
                                                                               Integer)
    return month_day.in_(birthday_keys(today, days))
