"""Custom fields: the marketer defines a key, a label and a type; values are checked and stored typed.

Values live in Contact.attributes[key] as JSON of their type, so segment conditions compare numbers as
numbers and dates as text that sorts like dates:

    text -> "string"   number -> 42 / 3.5   date -> "YYYY-MM-DD"   boolean -> true/false   choice -> "Gold"

Attributes with no definition are kept as they come (imports carry free-form columns); only defined
keys are checked. The contact form, the API and the importer all go through `attribute_validator`, so
a value accepted in one place is accepted, and stored the same way, everywhere.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from audiences.models import CONTACT_FIELDS, CUSTOM_FIELD_TYPES, CustomField
from core.errors import Invalid, NotFound

KEY_LIMIT = 64
LABEL_LIMIT = 200
TEXT_LIMIT = 1000  # one attribute value; a longer text belongs in notes
CHOICES_LIMIT = 100
_KEY = re.compile(r"[a-z][a-z0-9_]*")
_DATE = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
# Written by people and spreadsheets: English, Chinese, and Excel's TRUE/FALSE.
_TRUE = frozenset({"true", "yes", "y", "1", "on", "是", "真", "对"})
_FALSE = frozenset({"false", "no", "n", "0", "off", "否", "假", "不"})
# Names a custom field may not take: contact fields, and words the contact already uses for itself.
_RESERVED = frozenset({*CONTACT_FIELDS, "id", "name", "attributes", "owner", "owner_id", "lifecycle_stage",
                       "value_tier", "source", "notes", "region", "tags", "lists", "dates"})

AttributeValidator = Callable[[Mapping[str, Any]], tuple[dict[str, Any], list[Invalid]]]


def _show(value: object) -> str:
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


# ---------------------------------------------------------------- checking one value
def _name(field: CustomField) -> str:
    return f'custom field "{field.label}" ({field.key})' if field.label and field.label != field.key \
        else f'custom field "{field.key}"'


def check_value(field: CustomField, raw: Any) -> Any:
    """The value as stored for this field (see the module docstring); None for an empty one.

    Raises Invalid naming the field, the value and the form it must take.
    """
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    checker = _CHECKERS[field.type]
    return checker(field, raw)


def _text(field: CustomField, raw: Any) -> str:
    if isinstance(raw, (dict, list)):
        raise Invalid(f"{_name(field)} takes text, not {_show(raw)}", field=f"attributes.{field.key}")
    value = " ".join(str(raw).split()) if not isinstance(raw, str) else raw.strip()
    if len(value) > TEXT_LIMIT:
        raise Invalid(f"{_name(field)} is {len(value)} characters long; the limit is {TEXT_LIMIT} — shorten it "
                      "or put long text in the notes", field=f"attributes.{field.key}")
    return value


def _number(field: CustomField, raw: Any) -> int | float:
    bad = Invalid(f'{_name(field)} takes a number; "{_show(raw)}" is not one — write digits such as 42 or 3.5',
                  field=f"attributes.{field.key}")
    if isinstance(raw, bool):
        raise bad
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float):
        if not math.isfinite(raw):
            raise bad
        return int(raw) if raw.is_integer() and abs(raw) < 2**53 else raw
    text = str(raw).strip().replace(",", "").replace("，", "")  # thousands separators as spreadsheets write them
    if not _NUMBER.fullmatch(text):
        raise bad
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise bad from None
    if not number.is_finite():
        raise bad
    if number == number.to_integral_value() and abs(number) < 2**53:
        return int(number)
    return float(number)


def _date(field: CustomField, raw: Any) -> str:
    if isinstance(raw, datetime):
        return raw.date().isoformat()
    if isinstance(raw, date):
        return raw.isoformat()
    match = _DATE.fullmatch(str(raw).strip())
    try:
        if match is None:
            raise ValueError
        return date(int(match[1]), int(match[2]), int(match[3])).isoformat()
    except ValueError:
        raise Invalid(f'{_name(field)} takes a date; "{_show(raw)}" is not one — write it as YYYY-MM-DD, '
                      "e.g. 2027-03-01", field=f"attributes.{field.key}") from None


def _boolean(field: CustomField, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    word = str(raw).strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise Invalid(f'{_name(field)} takes yes or no; "{_show(raw)}" is neither — write yes/no, true/false or 是/否',
                  field=f"attributes.{field.key}")


def _choice(field: CustomField, raw: Any) -> str:
    text = str(raw).strip()
    for choice in field.choices or []:
        if text == choice:
            return choice
    folded = text.casefold()
    for choice in field.choices or []:
        if folded == choice.casefold():
            return choice
    raise Invalid(f'{_name(field)} takes one of {", ".join(field.choices or [])}; "{_show(raw)}" is not one of '
                  "them — pick one, or add it to the field's choices in Settings", field=f"attributes.{field.key}")


_CHECKERS: dict[str, Callable[[CustomField, Any], Any]] = {
    "text": _text, "number": _number, "date": _date, "boolean": _boolean, "choice": _choice,
}


# ---------------------------------------------------------------- checking a contact's attributes
def attribute_validator(session: Session) -> AttributeValidator:
    """A function checking one contact's attributes against the definitions read now (one query).

    The importer builds it once per file and calls it per row; the form and the API call
    validate_attributes. The function returns (clean, errors): `clean` holds every key with its stored
    value (None for an empty one, meaning "no value"; undefined keys as given), `errors` one Invalid
    per bad value, each naming the field, so a row or a form is fixed in one go.
    """
    fields = {f.key: f for f in session.scalars(select(CustomField))}

    def validate(attributes: Mapping[str, Any]) -> tuple[dict[str, Any], list[Invalid]]:
        clean: dict[str, Any] = {}
        errors: list[Invalid] = []
        for key, raw in attributes.items():
            field = fields.get(key)
            if field is None:
                clean[key] = raw.strip() if isinstance(raw, str) else raw
                continue
            try:
                clean[key] = check_value(field, raw)
            except Invalid as exc:
                errors.append(exc)
        return clean, errors

    return validate


def validate_attributes(session: Session, attributes: Mapping[str, Any]) -> tuple[dict[str, Any], list[Invalid]]:
    """Check one contact's attributes against the custom field definitions; see attribute_validator."""
    return attribute_validator(session)(attributes)


def clean_attributes(session: Session, attributes: Any) -> dict[str, Any]:
    """validate_attributes for a form or an API call: raises one Invalid listing every bad value."""
    if not isinstance(attributes, Mapping):
        raise Invalid(f"attributes must be a mapping of name to value, not {_show(attributes)}", field="attributes")
    clean, errors = validate_attributes(session, attributes)
    if errors:
        raise Invalid("; ".join(e.message for e in errors), field=errors[0].field)
    return clean


# ---------------------------------------------------------------- defining fields
def list_custom_fields(session: Session) -> list[CustomField]:
    """Every custom field definition, by label."""
    return list(session.scalars(select(CustomField).order_by(CustomField.label, CustomField.key)))


def get_custom_field(session: Session, field_id: int) -> CustomField:
    """The definition with this id. Raises NotFound."""
    field = session.get(CustomField, field_id)
    if field is None:
        raise NotFound(f"custom field {field_id} does not exist — it may have been deleted")
    return field


def _check_definition(type_: str, label: str, choices: Iterable[str] | None) -> tuple[str, list[str]]:
    if type_ not in CUSTOM_FIELD_TYPES:
        raise Invalid(f'field type "{_show(type_)}" is not known; use one of {", ".join(CUSTOM_FIELD_TYPES)}',
                      field="type")
    label = " ".join((label or "").split())
    if len(label) > LABEL_LIMIT:
        raise Invalid(f"the label is {len(label)} characters long; the limit is {LABEL_LIMIT}", field="label")
    cleaned: list[str] = []
    for choice in choices or []:
        text = " ".join(str(choice).split())
        if text and text not in cleaned:
            cleaned.append(text)
    if type_ == "choice" and not cleaned:
        raise Invalid("a choice field needs at least one choice — write them one per line", field="choices")
    if len(cleaned) > CHOICES_LIMIT:
        raise Invalid(f"{len(cleaned)} choices is more than {CHOICES_LIMIT} — use a text field instead",
                      field="choices")
    return label, cleaned if type_ == "choice" else []


def create_custom_field(session: Session, *, key: str, label: str, type: str, choices: Iterable[str] | None = None,
                        now: datetime) -> CustomField:
    """Define a custom field. Raises Invalid for a bad or taken key, an unknown type, a choice field
    without choices. Existing values under that key are left as they are (checked when next written). Commits.
    """
    key = (key or "").strip()
    if not _KEY.fullmatch(key) or len(key) > KEY_LIMIT:
        raise Invalid(f'field key "{_show(key)}" must start with a lowercase letter and hold only a-z, 0-9 and _ '
                      f"(at most {KEY_LIMIT}), e.g. membership_level", field="key")
    if key in _RESERVED:
        raise Invalid(f'"{key}" is already a contact field — pick another key', field="key")
    clean_label, clean_choices = _check_definition(type, label, choices)
    taken = session.scalar(select(CustomField.id).where(CustomField.key == key))
    if taken is not None:
        raise Invalid(f'a custom field with key "{key}" already exists — edit it or pick another key', field="key")
    field = CustomField(key=key, label=clean_label or key, type=type, choices=clean_choices, created_at=now)
    session.add(field)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Invalid(f'a custom field with key "{key}" already exists — pick another key', field="key") from None
    return field


def update_custom_field(session: Session, field_id: int, *, label: str, type: str,
                        choices: Iterable[str] | None = None) -> CustomField:
    """Change a field's label, type or choices (the key stays: segments and templates name it). Commits."""
    field = get_custom_field(session, field_id)
    clean_label, clean_choices = _check_definition(type, label, choices)
    field.label = clean_label or field.key
    field.type = type
    field.choices = clean_choices
    session.commit()
    return field


def delete_custom_field(session: Session, field_id: int) -> str:
    """Remove the definition; the values stay on the contacts as free attributes. Returns the key. Commits."""
    field = get_custom_field(session, field_id)
    key = field.key
    session.delete(field)
    session.commit()
    return key
