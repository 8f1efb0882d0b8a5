"""The values a free-text field holds, for the segment editor's suggestions.

A rule "region is 上海" silently misses the contacts whose region was typed 上海市: both are text, and
nothing in the rule says the other spelling exists. The editor offers the values that exist, with how
many contacts have each, so the marketer sees 上海 (12) and 上海市 (3) side by side and picks both.

Only fields people type freely are offered (company, region, source, country, language, and custom
fields that are text); names, addresses and ids are personal or unique, and a list of them is
neither a useful suggestion nor something to hand every editor.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from audiences.models import Contact, CustomField
from audiences.segments.json_sql import Bytewise, json_is
from core.errors import Invalid

VALUE_FIELDS = ("region", "company", "source", "country", "locale")
MAX_VALUES = 200


@dataclass(frozen=True)
class FieldValue:
    value: str
    contacts: int  # how many contacts hold exactly this value


def field_values(session: Session, field: str, *, limit: int = MAX_VALUES) -> list[FieldValue]:
    """The distinct non-empty values of `field` (one of VALUE_FIELDS, or "attributes.<key>" of a text custom
    field or an attribute with no definition), most common first, then by code point (the same order on
    SQLite and PostgreSQL, whatever its collation); at most `limit`.

    Raises Invalid naming the field when it is not one whose values are offered.
    """
    if field in VALUE_FIELDS:
        column = getattr(Contact, field)
        where = [column.is_not(None), column != ""]
    elif field.startswith("attributes.") and field != "attributes.":
        key = field.removeprefix("attributes.")
        kind = session.scalar(select(CustomField.type).where(CustomField.key == key))
        if kind not in (None, "text"):
            raise Invalid(f'custom field "{key}" is a {kind} field; values are offered for text fields only',
                          field="field")
        column = Contact.attributes[key].as_string()
        where = [json_is(key, "string"), column != ""]
    else:
        raise Invalid(f'"{field}" has no values to offer; ask for one of {", ".join(VALUE_FIELDS)} or '
                      "attributes.<key> of a text custom field", field="field")
    count = func.count().label("contacts")
    query = (select(column.label("value"), count).where(*where).group_by(column)
             .order_by(count.desc(), Bytewise(column)).limit(max(1, min(limit, MAX_VALUES))))
    return [FieldValue(value=value, contacts=contacts) for value, contacts in session.execute(query)]
