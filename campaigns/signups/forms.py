"""Sign-up forms as the marketer builds them: the fields asked (contact fields and custom fields, each with
its label and whether it is required), the lists a confirmed contact joins, the consent text per channel,
the hosted page's language and texts. Checked here, so the page and any later API agree."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from audiences import get_list, list_custom_fields
from campaigns.signups.models import FORM_LANGUAGES, SignupForm
from core.errors import Invalid, NotFound

# The contact fields a visitor may fill in; the rest (owner, tier, notes…) are the company's own words.
FORM_FIELDS = ("email", "phone", "first_name", "last_name", "company", "region", "birthday")
CUSTOM_PREFIX = "attributes."
SLUG = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?")
LABEL_LIMIT = 200
TEXT_LIMIT = 4000  # intro, consent and thank-you texts
ADDRESS_FIELD = {"email": "email", "sms": "phone"}  # the field a channel's confirmation goes to


def get_form(session: Session, form_id: int) -> SignupForm:
    """Raises NotFound naming the id."""
    form = session.get(SignupForm, form_id)
    if form is None:
        raise NotFound(f"sign-up form {form_id} does not exist; see the form list for the ids that do")
    return form


def form_by_slug(session: Session, slug: str, *, active_only: bool = True) -> SignupForm:
    """The form served at /f/<slug>. Raises NotFound for an unknown slug, or a form switched off."""
    form = session.scalar(select(SignupForm).where(SignupForm.slug == slug))
    if form is None or (active_only and not form.active):
        raise NotFound(f'no sign-up form is open at "{slug}"')
    return form


def list_forms(session: Session) -> list[SignupForm]:
    """Every form, newest first."""
    return list(session.scalars(select(SignupForm).order_by(SignupForm.id.desc())))


def field_choices(session: Session) -> list[tuple[str, str]]:
    """(field, default label) for every field a form may ask: the contact fields, then each custom field."""
    return [*((f, f.replace("_", " ").capitalize()) for f in FORM_FIELDS),
            *((CUSTOM_PREFIX + c.key, c.label or c.key) for c in list_custom_fields(session))]


def create_form(session: Session, *, now: datetime, **definition: Any) -> SignupForm:
    """Make a form from its definition (see `_checked` for the keys). Raises Invalid naming the field. Commits."""
    form = SignupForm(created_at=now, updated_at=now, **_checked(session, definition))
    session.add(form)
    _commit(session, form.slug)
    return form


def update_form(session: Session, form_id: int, *, now: datetime, **definition: Any) -> SignupForm:
    """Replace a form's definition. Submissions made before keep the consent text they were shown. Commits."""
    form = get_form(session, form_id)
    for key, value in _checked(session, definition, form_id=form_id).items():
        setattr(form, key, value)
    form.updated_at = now
    _commit(session, form.slug)
    return form


def _commit(session: Session, slug: str) -> None:
    try:
        session.commit()
    except IntegrityError:  # another form took the slug between the check and the write
        session.rollback()
        raise Invalid(f'the address /f/{slug} is taken by another form — choose another', field="slug") from None


def _checked(session: Session, given: Mapping[str, Any], *, form_id: int | None = None) -> dict[str, Any]:
    """name, slug, language, title, intro, fields, list_ids, email_consent, sms_consent, thanks, active."""
    name = _text(given.get("name"), "name", LABEL_LIMIT)
    if not name:
        raise Invalid("give the form a name (only you see it), e.g. Spring fair 2026", field="name")
    slug = str(given.get("slug") or "").strip().lower()
    if not SLUG.fullmatch(slug):
        raise Invalid(f'the address "{slug}" is not usable: use lower-case letters, digits and dashes, up to 64, '
                      "e.g. spring-fair", field="slug")
    holder = session.scalar(select(SignupForm.id).where(SignupForm.slug == slug))
    if holder is not None and holder != form_id:
        raise Invalid(f"the address /f/{slug} is taken by form {holder} — choose another", field="slug")
    language = str(given.get("language") or "en")
    if language not in FORM_LANGUAGES:
        raise Invalid(f'language "{language}" is not offered; choose one of {", ".join(FORM_LANGUAGES)}',
                      field="language")
    fields = _fields(session, given.get("fields") or [])
    consents = {channel: _text(given.get(f"{channel}_consent"), f"{channel}_consent", TEXT_LIMIT)
                for channel in ADDRESS_FIELD}
    if not any(consents.values()):
        raise Invalid("write the consent text for email or SMS (or both): a form without one cannot subscribe "
                      "anyone", field="email_consent")
    asked = {f["field"] for f in fields}
    for channel, text in consents.items():
        if text and ADDRESS_FIELD[channel] not in asked:
            raise Invalid(f"the form asks consent for {channel} but not the {ADDRESS_FIELD[channel]} it goes to — "
                          f"add the {ADDRESS_FIELD[channel]} field", field=f"{channel}_consent")
    list_ids = sorted({_list_id(session, value) for value in given.get("list_ids") or []})
    return {"name": name, "slug": slug, "language": language,
            "title": _text(given.get("title"), "title", LABEL_LIMIT) or name,
            "intro": _text(given.get("intro"), "intro", TEXT_LIMIT), "fields": fields, "list_ids": list_ids,
            "email_consent": consents["email"], "sms_consent": consents["sms"],
            "thanks": _text(given.get("thanks"), "thanks", TEXT_LIMIT), "active": bool(given.get("active", True))}


def _text(value: Any, field: str, limit: int) -> str:
    text = str(value or "").strip()
    if len(text) > limit:
        raise Invalid(f"{field} is {len(text):,} characters long; the limit is {limit:,} — shorten it", field=field)
    return text


def _fields(session: Session, given: Iterable[Any]) -> list[dict[str, Any]]:
    allowed = dict(field_choices(session))
    fields: list[dict[str, Any]] = []
    for item in given:
        if not isinstance(item, Mapping):
            raise Invalid('each form field is {"field": …, "label": …, "required": true|false}', field="fields")
        key = str(item.get("field") or "")
        if key not in allowed:
            raise Invalid(f'"{key}" is not a field a form can ask; choose from {", ".join(allowed)}', field="fields")
        if any(f["field"] == key for f in fields):
            raise Invalid(f'the form asks "{key}" twice — keep one', field="fields")
        label = _text(item.get("label"), "label", LABEL_LIMIT) or allowed[key]
        fields.append({"field": key, "label": label, "required": bool(item.get("required"))})
    if not fields:
        raise Invalid("choose the fields the form asks, at least the email or the phone", field="fields")
    return fields


def _list_id(session: Session, value: Any) -> int:
    try:
        list_id = int(value)
    except (TypeError, ValueError):
        raise Invalid(f'"{value}" is not a list id — pick lists from the form', field="list_ids") from None
    return get_list(session, list_id).id
