"""Segment rules: what a JSON rule tree may say, and checking one (to_sql.py compiles it to ONE WHERE clause).

A tree is a group, `{"all": [...]}` (AND) or `{"any": [...]}` (OR), whose items are groups again or
conditions `{"field": "...", "op": "...", "value": ...}`. Nothing here evaluates a contact in Python:
the database does the filtering, so a count costs one query at any size (DESIGN §3, issue 3).

What each condition means, on SQLite and PostgreSQL alike:
- A value that is missing (NULL column, absent or JSON-null attribute, or an attribute of another JSON
  type than the rule's value) matches no comparison; `neq` and `not_in` are exactly NOT `eq` / NOT `in`,
  so "tier neq A" includes the contacts with no tier.
- `empty` is NULL, absent or ""; `contains` / `starts_with` ignore ASCII case (SQLite's lower() knows
  only ASCII, so non-ASCII letters compare exactly there); `gt`…`between` on text compare code points
  (PostgreSQL is told COLLATE "C", so its locale cannot reorder them).
- `attributes.<name>`: the rule value's JSON type picks the comparison: a string compares with string
  attributes only; a number with numbers and with strings written as plain decimals ("90", "-2.5"; CSV
  imports store text); true/false with booleans only.
- `consent.<channel>`: no consent row counts as "subscribed" (the opt-out model of audience_select).
- `birthday_within_days N`: the birthday's month and day fall on today … today+N, across the year end,
  whatever the year of birth; a 29 February birthday counts on 28 February in other years.
- `older_than_days N` / `newer_than_days N`: created before / since midnight UTC of today−N.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
)

from audiences.models import CONSENT_STATUSES
from core.errors import Invalid

TEXT_FIELDS = ("first_name", "last_name", "email", "phone", "company", "country", "locale", "time_zone",
               "external_id", "region", "source", "lifecycle_stage", "value_tier")
CONSENT_FIELDS = ("consent.email", "consent.sms")
FIELDS = (*TEXT_FIELDS, "birthday", "created_at", "attributes.<name>", "list", *CONSENT_FIELDS)

COMPARE = ("gt", "gte", "lt", "lte", "between")
TEXT_OPS = ("eq", "neq", "contains", "starts_with", "in", "not_in", "empty", "not_empty", *COMPARE)
OPS_BY_KIND = {
    "text": TEXT_OPS,
    # A date custom field ("YYYY-MM-DD", audiences/contacts/custom_fields.py) relative to today.
    "attribute": (*TEXT_OPS, "in_next_days", "in_last_days", "not_in_last_days"),
    "birthday": ("eq", "neq", "empty", "not_empty", *COMPARE, "birthday_within_days"),
    "created_at": (*COMPARE, "older_than_days", "newer_than_days"),
    "list": ("in", "not_in"),
    "consent": ("eq", "neq", "in", "not_in"),
}
NO_VALUE_OPS = ("empty", "not_empty")
# Each negative operator is exactly NOT its positive (with a missing value counted as "no match").
NEGATIONS = {"neq": "eq", "not_in": "in", "not_empty": "empty", "not_in_last_days": "in_last_days"}
DAY_OPS = ("birthday_within_days", "older_than_days", "newer_than_days", "in_next_days", "in_last_days",
           "not_in_last_days")

# Bounds that keep one segment's SQL small: a tree from the API cannot grow a statement without limit.
MAX_DEPTH = 8
MAX_CONDITIONS = 100
MAX_IN_VALUES = 1000
MAX_DAYS = 36_600


class SegmentRuleInvalid(Invalid):
    """A rule tree that cannot be compiled; `path` names the rule (`rules.all[2].field`)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path} {message}", field="rules")
        self.path = path


@dataclass(frozen=True)
class Condition:
    path: str
    field: str
    op: str
    value: Any


@dataclass(frozen=True)
class Group:
    path: str
    kind: str  # "all" | "any"
    items: tuple[Group | Condition, ...]


@dataclass(frozen=True)
class ConditionKind:
    """A kind of condition defined outside this module: tags, RFM scores, important dates (segments/fields.py),
    and message events and conversions, which campaigns registers (audiences never imports campaigns).

    `check(op, value, fail)` returns the value as `compile` wants it or raises `fail("what it must be")`;
    `compile(condition, today)` returns the SQL for a positive operator (negatives are NOT of those).
    `never_null`: the compiled SQL is never NULL, so its negation needs no COALESCE.
    """

    ops: tuple[str, ...]
    check: Callable[[str, Any, Callable[[str], Exception]], Any]
    compile: Callable[[Condition, date], ColumnElement[bool]]
    never_null: bool = True


# field name -> kind; a name ending in "." (e.g. "date.") covers every field under it ("date.renewal").
_REGISTERED: dict[str, ConditionKind] = {}


def register_condition(field: str, kind: ConditionKind) -> None:
    """Make `field` a segment condition. Registering a field twice replaces it (modules may be reloaded)."""
    _REGISTERED[field] = kind


def registered_kind(field: str) -> ConditionKind | None:
    if field in _REGISTERED and not field.endswith("."):
        return _REGISTERED[field]
    prefix = field.partition(".")[0] + "."
    return _REGISTERED.get(prefix) if "." in field and len(field) > len(prefix) else None


def known_fields() -> tuple[str, ...]:
    return (*FIELDS, *(f + "<name>" if f.endswith(".") else f for f in _REGISTERED))


def operators() -> tuple[str, ...]:
    ops = [op for ops in OPS_BY_KIND.values() for op in ops] + [op for k in _REGISTERED.values() for op in k.ops]
    return tuple(dict.fromkeys(ops))


# ---------------------------------------------------------------- checking
def check_rules(rules: Any) -> Group:
    """The rule tree, checked. Raises SegmentRuleInvalid naming the first bad rule by its path."""
    counter = [0]
    return _check_group(rules, "rules", 1, counter)


def _what(value: Any) -> str:
    if value is None:
        return "null"
    if value == [] or value == "":
        return "an empty list" if value == [] else "an empty string"
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "a list",
            dict: "an object"}.get(type(value), type(value).__name__)


def _check_group(node: Any, path: str, depth: int, counter: list[int]) -> Group:
    if not isinstance(node, dict) or len(node) != 1 or next(iter(node)) not in ("all", "any"):
        shown = f"has the keys {', '.join(sorted(map(str, node)))}" if isinstance(node, dict) else f"is {_what(node)}"
        raise SegmentRuleInvalid(path, f'{shown}; a group is {{"all": [...]}} (every rule) or {{"any": [...]}} '
                                       "(at least one rule)")
    kind, items = next(iter(node.items()))
    if not isinstance(items, list):
        raise SegmentRuleInvalid(f"{path}.{kind}", f"is {_what(items)}; it must be a list of rules")
    if depth > MAX_DEPTH:
        raise SegmentRuleInvalid(path, f"nests groups deeper than {MAX_DEPTH} levels; flatten the tree")
    checked: list[Group | Condition] = []
    for index, item in enumerate(items):
        item_path = f"{path}.{kind}[{index}]"
        if isinstance(item, dict) and len(item) == 1 and next(iter(item)) in ("all", "any"):
            checked.append(_check_group(item, item_path, depth + 1, counter))
        else:
            counter[0] += 1
            if counter[0] > MAX_CONDITIONS:
                raise SegmentRuleInvalid(item_path, f"is condition {counter[0]}; a segment holds at most "
                                                    f"{MAX_CONDITIONS}")
            checked.append(_check_condition(item, item_path))
    return Group(path, kind, tuple(checked))


def field_kind(field: str) -> str | None:
    if field in TEXT_FIELDS:
        return "text"
    if field in ("birthday", "created_at", "list"):
        return field
    if field in CONSENT_FIELDS:
        return "consent"
    if field.startswith("attributes."):
        return "attribute"
    if registered_kind(field) is not None:
        return "registered"
    return None


def _ops_for(kind: str, field: str) -> tuple[str, ...]:
    if kind == "registered":
        registered = registered_kind(field)
        assert registered is not None
        return registered.ops
    return OPS_BY_KIND[kind]


def _check_condition(node: Any, path: str) -> Condition:
    if not isinstance(node, dict):
        raise SegmentRuleInvalid(path, f'is {_what(node)}; a rule is a group {{"all": [...]}} / {{"any": [...]}} '
                                       'or a condition {"field": ..., "op": ..., "value": ...}')
    unknown = sorted(set(node) - {"field", "op", "value"})
    if unknown:
        raise SegmentRuleInvalid(path, f'has the unknown key "{unknown[0]}"; a condition has field, op and value '
                                       '(a group is one key, "all" or "any")')
    field, op = node.get("field"), node.get("op")
    kind = field_kind(field) if isinstance(field, str) else None
    if kind is None:
        shown = f'"{field}"' if isinstance(field, str) else ("missing" if field is None else _what(field))
        raise SegmentRuleInvalid(f"{path}.field", f"{shown} is not a contact field; known: "
                                                  f"{', '.join(known_fields())}")
    if kind == "attribute":
        _check_attribute_name(field, path)
    if not isinstance(op, str) or op not in operators():
        shown = f'"{op}"' if isinstance(op, str) else ("missing" if op is None else _what(op))
        raise SegmentRuleInvalid(f"{path}.op", f"{shown} is not an operator; known: {', '.join(operators())}")
    if op not in _ops_for(kind, field):
        raise SegmentRuleInvalid(f"{path}.op", f'"{op}" does not apply to {field}; use one of: '
                                               f"{', '.join(_ops_for(kind, field))}")
    value = node.get("value")
    if op in NO_VALUE_OPS:
        if value is not None:
            raise SegmentRuleInvalid(f"{path}.value", f'must be left out for "{op}" (got {_what(value)})')
        return Condition(path, field, op, None)
    if "value" not in node:
        raise SegmentRuleInvalid(f"{path}.value", f'is missing; "{op}" needs a value')
    return Condition(path, field, op, _check_value(kind, field, op, value, f"{path}.value"))


def _check_attribute_name(field: str, path: str) -> None:
    name = field.removeprefix("attributes.")
    # The name ends up in a JSON path ('$."name"' on SQLite); quotes, backslashes and control characters
    # would change that path's meaning, and no CSV header needs them.
    if not name or len(name) > 100 or any(ch in name for ch in '"\\') or any(ord(ch) < 32 for ch in name):
        raise SegmentRuleInvalid(f"{path}.field", f'"{field}" is not a usable custom field name: write '
                                                  "attributes.<name>, 1–100 characters, no quotes or backslashes")


def _check_value(kind: str, field: str, op: str, value: Any, path: str) -> Any:
    def fail(expected: str) -> SegmentRuleInvalid:
        return SegmentRuleInvalid(path, f'must be {expected} for {field} "{op}", not {_what(value)}')

    if kind == "registered":
        registered = registered_kind(field)
        assert registered is not None
        return registered.check(op, value, fail)

    if op in DAY_OPS:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_DAYS:
            raise fail(f"a whole number of days from 0 to {MAX_DAYS}")
        return value
    scalar = _SCALARS[kind]
    if op in ("in", "not_in"):
        if not isinstance(value, list) or not value or len(value) > MAX_IN_VALUES:
            raise fail(f"a list of 1 to {MAX_IN_VALUES} values")
        items = [scalar(item, fail, op) for item in value]
        if kind == "attribute" and len({_json_kind(item) for item in items}) > 1:
            raise fail("a list of values of one type (all strings, or all numbers)")
        return items
    if op == "between":
        if not isinstance(value, list) or len(value) != 2:
            raise fail("a list of two values, [low, high]")
        low, high = (scalar(item, fail, op) for item in value)
        if _json_kind(low) != _json_kind(high):
            raise fail("two values of the same type")
        return [low, high]
    return scalar(value, fail, op)


def _text(value: Any, fail: Callable[[str], Exception], op: str) -> str:
    if not isinstance(value, str) or (op in ("contains", "starts_with") and not value):
        raise fail("a non-empty string" if op in ("contains", "starts_with") else "a string")
    return value


def _attribute(value: Any, fail: Callable[[str], Exception], op: str) -> Any:
    if op in ("contains", "starts_with"):
        return _text(value, fail, op)
    if isinstance(value, bool):
        if op not in ("eq", "neq"):
            raise fail("a string or a number (true/false only with eq and neq)")
        return value
    if isinstance(value, int | float | str):
        return value
    raise fail("a string, a number or true/false")


def _day(value: Any, fail: Callable[[str], Exception], op: str) -> date:
    try:
        return date.fromisoformat(value) if isinstance(value, str) else _raise()
    except ValueError:
        raise fail('a date written YYYY-MM-DD, e.g. "1990-05-17"') from None


def _moment(value: Any, fail: Callable[[str], Exception], op: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else _raise()
    except ValueError:
        raise fail('a date or time, e.g. "2026-01-31" or "2026-01-31T08:00:00Z" (UTC unless a zone is given)') from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _list_id(value: Any, fail: Callable[[str], Exception], op: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise fail("a list of list ids (whole numbers)")
    return value


def _status(value: Any, fail: Callable[[str], Exception], op: str) -> str:
    if value not in CONSENT_STATUSES:
        raise fail(f"a consent status: {', '.join(CONSENT_STATUSES)}")
    return value


def _raise() -> Any:
    raise ValueError


_SCALARS: dict[str, Callable[[Any, Callable[[str], Exception], str], Any]] = {
    "text": _text, "attribute": _attribute, "birthday": _day, "created_at": _moment, "list": _list_id,
    "consent": _status,
}


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    return "number" if isinstance(value, int | float) else type(value).__name__
