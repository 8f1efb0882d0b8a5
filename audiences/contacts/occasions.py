"""Whose date falls on a day: birthdays, important dates (contact_dates), custom date attributes.

Date-rule campaigns (campaigns/schedules.py) ask "who has a birthday on 14 March?" whatever the year
of birth. The answer is a SELECT of contact ids, not executed, so the campaign can use it inside the
INSERT … SELECT that materialises its run. Month and day are compared as month*100+day, with
EXTRACT on date columns and the "MM-DD" part of an ISO text date for custom attributes; both
databases run these the same way.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import date
from typing import Any

from sqlalchemy import Integer, cast, extract, func, select

from audiences.models import Contact, ContactDate
from core.errors import Invalid

_ATTRIBUTE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_KIND = re.compile(r"^[a-z0-9_]{1,50}$")


def check_date_source(source: str, *, field: str = "date_source") -> str:
    """Return `source` if it names a date: "birthday", "date:<kind>" or "attribute:<name>"; else raise Invalid."""
    source = (source or "").strip()
    if source == "birthday":
        return source
    kind, _, name = source.partition(":")
    if kind == "date" and _KIND.match(name):
        return source
    if kind == "attribute" and _ATTRIBUTE_NAME.match(name):
        return source
    raise Invalid(f'"{source}" is not a date to match; use "birthday", "date:<kind>" for an important date '
                  '(e.g. date:contract_renewal) or "attribute:<name>" for a custom date field '
                  "(e.g. attribute:member_since)", field=field)


def month_day_keys(days: Collection[date]) -> list[int]:
    """month*100 + day of each date, sorted: the keys contacts_with_date_on compares against."""
    return sorted({day.month * 100 + day.day for day in days})


def contacts_with_date_on(source: str, keys: Collection[int]) -> Any:
    """SELECT contact_id of contacts whose `source` date's month and day is among `keys` (month*100+day).

    `source` as check_date_source accepts. A custom attribute counts when it holds an ISO date text
    ("2019-03-14", or a longer timestamp starting so); anything else never matches. May list a contact
    twice (two important dates of one kind), so use it with IN.
    """
    check_date_source(source)
    wanted = sorted(set(keys))
    if source == "birthday":
        key = cast(extract("month", Contact.birthday), Integer) * 100 + cast(extract("day", Contact.birthday), Integer)
        return select(Contact.id.label("contact_id")).where(Contact.birthday.is_not(None), key.in_(wanted))
    kind, _, name = source.partition(":")
    if kind == "date":
        key = (cast(extract("month", ContactDate.date), Integer) * 100
               + cast(extract("day", ContactDate.date), Integer))
        return select(ContactDate.contact_id.label("contact_id")).where(ContactDate.kind == name, key.in_(wanted))
    text = Contact.attributes[name].as_string()
    month_day = func.substr(text, 6, 5)  # "2019-03-14" -> "03-14"
    iso = [f"{k // 100:02d}-{k % 100:02d}" for k in wanted]
    return select(Contact.id.label("contact_id")).where(
        func.length(text) >= 10, func.substr(text, 5, 1) == "-", month_day.in_(iso))


def contact_date_keys(source: str) -> Any:
    """SELECT contact_id, key: each contact's `source` date's month and day (a contact with two important dates
    of one kind has two rows), for counting who has an occasion on which day of the year in one GROUP BY — the
    date-rule estimate's calendar. The key is month*100+day for a date column and the "MM-DD" text of a custom
    attribute (casting free text to a number would fail on PostgreSQL): read it with month_day_key()."""
    check_date_source(source)
    if source == "birthday":
        key = cast(extract("month", Contact.birthday), Integer) * 100 + cast(extract("day", Contact.birthday), Integer)
        return select(Contact.id.label("contact_id"), key.label("key")).where(Contact.birthday.is_not(None))
    kind, _, name = source.partition(":")
    if kind == "date":
        key = (cast(extract("month", ContactDate.date), Integer) * 100
               + cast(extract("day", ContactDate.date), Integer))
        return select(ContactDate.contact_id.label("contact_id"), key.label("key")).where(ContactDate.kind == name)
    text = Contact.attributes[name].as_string()
    return select(Contact.id.label("contact_id"), func.substr(text, 6, 5).label("key")).where(
        func.length(text) >= 10, func.substr(text, 5, 1) == "-")


_MONTH_DAY = re.compile(r"(\d\d)-(\d\d)")


def month_day_key(value: Any) -> int | None:
    """month*100+day from a contact_date_keys() key (a number, or "MM-DD" text); None for text that is no date."""
    if isinstance(value, int):
        return value
    match = _MONTH_DAY.fullmatch(str(value or ""))
    return int(match[1]) * 100 + int(match[2]) if match else None
