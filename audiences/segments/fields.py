"""Segment conditions over what contacts carry beside their own columns: tags, RFM scores and owner, and
important dates by kind. Registered with rules.register_condition when audiences is imported.

- `tag` in / not_in / all [names]: has any / none / every one of the tags (by name, as the UI shows them).
- `rfm_recency`, `rfm_frequency`, `rfm_monetary` (1 worst … 5 best) and `owner_id`: eq, neq, in, not_in,
  gt, gte, lt, lte, between over whole numbers; empty / not_empty (no score yet, no owner).
- `date.<kind>` (e.g. date.contract_renewal) in_next_days N: a date of that kind falls on today … today+N;
  anniversary_within_days N: its month and day come round within N days (as birthdays do);
  in_last_days N: it fell on today−N … today. A contact with no date of the kind matches none of them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Integer, and_, cast, exists, extract, func, select
from sqlalchemy.orm import Session

from audiences.models import Contact, ContactDate, ContactTag, CustomField, Tag
from audiences.segments.rules import (
    DAY_OPS,
    MAX_DAYS,
    MAX_IN_VALUES,
    Condition,
    ConditionKind,
    Group,
    SegmentRuleInvalid,
    register_condition,
)
from audiences.segments.to_sql import birthday_keys

NUMBER_FIELDS = ("rfm_recency", "rfm_frequency", "rfm_monetary", "owner_id")
NUMBER_OPS = ("eq", "neq", "in", "not_in", "gt", "gte", "lt", "lte", "between", "empty", "not_empty")
TAG_OPS = ("in", "not_in", "all")
DATE_OPS = ("in_next_days", "in_last_days", "not_in_last_days", "anniversary_within_days")

Fail = Callable[[str], Exception]


# ---------------------------------------------------------------- tags
def _check_tags(op: str, value: Any, fail: Fail) -> list[str]:
    if not isinstance(value, list) or not value or len(value) > MAX_IN_VALUES or \
            not all(isinstance(v, str) and v.strip() for v in value):
        raise fail(f"a list of 1 to {MAX_IN_VALUES} tag names")
    return sorted({" ".join(v.split()) for v in value})


def _tagged(names: list[str]) -> Any:
    return (select(ContactTag.contact_id).join(Tag, Tag.id == ContactTag.tag_id)
            .where(ContactTag.contact_id == Contact.id, Tag.name.in_(names)))


def _compile_tags(rule: Condition, today: date) -> ColumnElement[bool]:
    if rule.op == "all":
        # Every tag: as many distinct matching tags as names asked for (names are unique, see _check_tags).
        count = (select(func.count()).select_from(ContactTag).join(Tag, Tag.id == ContactTag.tag_id)
                 .where(ContactTag.contact_id == Contact.id, Tag.name.in_(rule.value)).scalar_subquery())
        return count == len(rule.value)
    return exists(_tagged(rule.value))


# ---------------------------------------------------------------- numbers
def _check_number(op: str, value: Any, fail: Fail) -> Any:
    def whole(item: Any) -> int:
        if isinstance(item, bool) or not isinstance(item, int):
            raise fail("a whole number" if op not in ("in", "not_in", "between") else "a list of whole numbers")
        return item

    if op in ("in", "not_in"):
        if not isinstance(value, list) or not value or len(value) > MAX_IN_VALUES:
            raise fail(f"a list of 1 to {MAX_IN_VALUES} whole numbers")
        return [whole(v) for v in value]
    if op == "between":
        if not isinstance(value, list) or len(value) != 2:
            raise fail("a list of two whole numbers, [low, high]")
        return [whole(v) for v in value]
    return whole(value)


def _compile_number(rule: Condition, today: date) -> ColumnElement[bool]:
    column = getattr(Contact, rule.field)
    if rule.op == "empty":
        return column.is_(None)
    operations: dict[str, Callable[[], ColumnElement[bool]]] = {
        "eq": lambda: column == rule.value, "in": lambda: column.in_(rule.value),
        "gt": lambda: column > rule.value, "gte": lambda: column >= rule.value,
        "lt": lambda: column < rule.value, "lte": lambda: column <= rule.value,
        "between": lambda: column.between(rule.value[0], rule.value[1]),
    }
    return operations[rule.op]()


# ---------------------------------------------------------------- important dates
def _check_days(op: str, value: Any, fail: Fail) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_DAYS:
        raise fail(f"a whole number of days from 0 to {MAX_DAYS}")
    return value


def _compile_dates(rule: Condition, today: date) -> ColumnElement[bool]:
    kind = rule.field.removeprefix("date.")
    of_kind = and_(ContactDate.contact_id == Contact.id, ContactDate.kind == kind)
    if rule.op == "anniversary_within_days":
        month_day = cast(extract("month", ContactDate.date), Integer) * 100 + \
            cast(extract("day", ContactDate.date), Integer)
        return exists().where(of_kind, month_day.in_(birthday_keys(today, rule.value)))
    low, high = (today, today + timedelta(days=rule.value)) if rule.op == "in_next_days" else \
        (today - timedelta(days=rule.value), today)
    return exists().where(of_kind, ContactDate.date.between(low, high))


register_condition("tag", ConditionKind(ops=TAG_OPS, check=_check_tags, compile=_compile_tags))
for _field in NUMBER_FIELDS:
    # A NULL score compares as NULL: "neq 5" must still keep the contacts with no score (COALESCE).
    register_condition(_field, ConditionKind(ops=NUMBER_OPS, check=_check_number, compile=_compile_number,
                                             never_null=False))
register_condition("date.", ConditionKind(ops=DATE_OPS, check=_check_days, compile=_compile_dates))


# ---------------------------------------------------------------- custom fields, typed by their definitions
def check_custom_field_types(session: Session, tree: Group) -> None:
    """Refuse conditions that cannot fit a defined custom field's type (audiences/contacts/custom_fields.py), naming the
    rule: "points gt 'abc'" on a number field, "member contains 'x'" on a yes/no field, a choice that is
    not one of the field's choices. Attributes with no definition are compared by the rule value's type."""
    conditions = list(_conditions(tree))
    keys = {c.field.removeprefix("attributes.") for c in conditions if c.field.startswith("attributes.")}
    if not keys:
        return
    defined = {f.key: f for f in session.scalars(select(CustomField).where(CustomField.key.in_(sorted(keys))))}
    for condition in conditions:
        field = defined.get(condition.field.removeprefix("attributes."))
        if field is not None:
            _check_typed(condition, field)


def _conditions(tree: Group) -> Iterator[Condition]:
    for item in tree.items:
        if isinstance(item, Group):
            yield from _conditions(item)
        else:
            yield item


_TYPED_OPS = {
    "number": ("eq", "neq", "in", "not_in", "gt", "gte", "lt", "lte", "between", "empty", "not_empty"),
    "boolean": ("eq", "neq", "empty", "not_empty"),
    "date": ("eq", "neq", "in", "not_in", "gt", "gte", "lt", "lte", "between", "empty", "not_empty",
             "in_next_days", "in_last_days", "not_in_last_days"),
    "choice": ("eq", "neq", "in", "not_in", "empty", "not_empty"),
}
_TYPE_WORDS = {"number": "a number", "boolean": "true or false", "date": 'a date written YYYY-MM-DD',
               "choice": "one of its choices", "text": "text"}


def _check_typed(condition: Condition, field: CustomField) -> None:
    name = f'custom field "{field.label or field.key}" ({field.key})'
    allowed = _TYPED_OPS.get(field.type)
    if allowed is not None and condition.op not in allowed:
        raise SegmentRuleInvalid(f"{condition.path}.op", f'"{condition.op}" does not apply to {name}, a {field.type} '
                                                         f"field; use one of: {', '.join(allowed)}")
    if condition.value is None or condition.op in DAY_OPS:
        if condition.op in DAY_OPS and field.type != "date":
            raise SegmentRuleInvalid(f"{condition.path}.op", f'"{condition.op}" needs a date field; {name} is a '
                                                             f"{field.type} field")
        return
    values = condition.value if isinstance(condition.value, list) else [condition.value]
    for value in values:
        if not _fits(field, value):
            raise SegmentRuleInvalid(f"{condition.path}.value", f"must be {_TYPE_WORDS.get(field.type, 'text')} for "
                                                                f"{name}, not {value!r}")


def _fits(field: CustomField, value: Any) -> bool:
    if field.type == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if field.type == "boolean":
        return isinstance(value, bool)
    if not isinstance(value, str):
        return False
    if field.type == "date":
        try:
            date.fromisoformat(value)
        except ValueError:
            return False
        return len(value) == 10
    if field.type == "choice":
        return value in (field.choices or [])
    return True
