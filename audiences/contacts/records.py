"""Contacts: what a valid email, phone, birthday, country and time zone is, and reading/creating contacts.

The normalisers here are the single definition used by the CSV importer, the API and the demo data,
so a value accepted in one place is accepted, and stored the same way, everywhere.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from audiences.models import CONTACT_FIELDS, LIFECYCLE_STAGES, VALUE_TIERS, Contact, ListMember
from core.errors import Invalid, NotFound

# Column sizes from the model; checked here so PostgreSQL never rejects a whole chunk for one long cell.
MAX_LENGTHS = {"external_id": 100, "first_name": 100, "last_name": 100, "company": 200, "region": 100,
               "source": 100}
NOTES_LIMIT = 10000

# What people write for a lifecycle stage in a form or a spreadsheet (SEEDS-DIGEST's Chinese terms included).
LIFECYCLE_SYNONYMS = {
    "lead": ("lead", "prospect", "potential", "潜在", "潜在客户", "线索"),
    "customer": ("customer", "new", "new customer", "新客户", "新", "客户", "成交"),
    "repeat": ("repeat", "active", "returning", "老客户", "有效", "有效客户", "复购", "老"),
    "vip": ("vip", "loyal", "忠诚", "忠诚客户", "贵宾"),
    "dormant": ("dormant", "inactive", "休眠", "休眠客户", "沉睡"),
    "churned": ("churned", "lost", "invalid", "流失", "无效", "无效客户", "已流失"),
}
_LIFECYCLE = {word: stage for stage, words in LIFECYCLE_SYNONYMS.items() for word in words}
_TIER = re.compile(r"([A-Da-d])\s*(?:类|级|档|tier)?", re.IGNORECASE)

# Two-character surnames, so 欧阳娜娜 splits as 欧阳 + 娜娜 rather than 欧 + 阳娜娜.
COMPOUND_SURNAMES = frozenset(
    "欧阳 司马 上官 诸葛 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 夏侯 轩辕 令狐 端木 西门 南宫 独孤 呼延".split()
)

# ISO 3166-1 codes with no telephone numbering plan of their own, so phonenumbers does not list them.
_REGIONS_WITHOUT_PHONES = frozenset({"AQ", "BV", "GS", "HM", "PN", "TF", "UM"})

_BIRTHDAY = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})")
_LOCALE = re.compile(r"([A-Za-z]{2,3})(?:[-_]([A-Za-z]{2}|\d{3}))?")
# How Excel shows a long number in a General column (1.38123E+10): what a CSV saved from it holds.
_SCIENTIFIC = re.compile(r"\d(?:[.,]\d+)?E\+?\d+", re.IGNORECASE)
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def _show(value: object) -> str:
    """A value as quoted in an error message: cut short so one huge cell does not flood the report."""
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


# ---------------------------------------------------------------- one value at a time
def check_region(region: str) -> str:
    """The default region for phone numbers written without a country code ("US", "CN")."""
    code = (region or "").strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise Invalid(
            f'default region "{_show(region)}" is not a region phone numbers know; use a two-letter code such as '
            "US or CN — check [app] default_region in config.toml",
            field="default_region",
        )
    return code


def normalise_email(value: str, *, label: str = "email") -> str:
    """The normalised address, lowercased (mailbox names are case-insensitive in practice). Raises Invalid."""
    try:
        result = validate_email(value.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise Invalid(
            f'{label} "{_show(value)}" is not a valid email address ({exc}) — write it as name@example.com',
            field="email",
        ) from None
    return result.normalized.lower()


def _example_phone(region: str) -> str:
    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    if example is None:
        return "+8613800138000"
    return phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)


def normalise_phone(value: str, *, region: str, label: str = "phone") -> str:
    """The number in E.164 (+8613800138000); numbers without a country code are read in `region`."""
    return phone_and_country(value, region=region, label=label)[0]


def phone_and_country(value: str, *, region: str, label: str = "phone") -> tuple[str, str | None]:
    """The number in E.164 and the country it belongs to ("CN"; None for a non-geographic number such as
    +800), from one parse. Numbers without a country code are read in `region`. Raises Invalid."""
    try:
        number = phonenumbers.parse(value.strip(), region)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        if _SCIENTIFIC.fullmatch(value.strip()):
            raise Invalid(f'{label} "{_show(value)}" was saved by Excel in scientific notation, which loses the last '
                          "digits — format the column as Text in Excel, type the numbers again and export again",
                          field="phone")
        raise Invalid(
            f'{label} "{_show(value)}" is not a valid phone number for region {region} — '
            f"write it in international form, e.g. {_example_phone(region)}",
            field="phone",
        )
    country = phonenumbers.region_code_for_number(number)
    return (phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
            country if country in phonenumbers.SUPPORTED_REGIONS else None)


def country_of_phone(e164: str) -> str | None:
    """The country a stored (E.164) number belongs to, or None when it has none or cannot be read."""
    try:
        return phone_and_country(e164, region="ZZ")[1]
    except Invalid:
        return None


def parse_birthday(value: str | date, *, label: str = "birthday") -> date:
    """A date from YYYY-MM-DD or YYYY/MM/DD (Excel in zh-CN writes 1990/1/5, so one-digit parts are fine)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    match = _BIRTHDAY.fullmatch(value.strip())
    try:
        if match is None:
            raise ValueError
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        raise Invalid(
            f'{label} "{_show(value)}" is not a date — write it as YYYY-MM-DD, e.g. 1990-05-17', field="birthday"
        ) from None


def normalise_country(value: str, *, label: str = "country") -> str:
    code = value.strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS and code not in _REGIONS_WITHOUT_PHONES:
        raise Invalid(
            f'{label} "{_show(value)}" is not an ISO 3166 country code — use the two-letter code, e.g. CN or US',
            field="country",
        )
    return code


@cache
def _time_zones() -> dict[str, str]:
    # Lowercased lookup so "asia/shanghai" is accepted and stored as "Asia/Shanghai". "localtime" and
    # friends are files some systems keep next to the zones, not IANA names.
    names = zoneinfo.available_timezones() - {"localtime", "posixrules", "Factory"}
    return {name.lower(): name for name in names}


def normalise_time_zone(value: str, *, label: str = "time_zone") -> str:
    name = _time_zones().get(value.strip().lower())
    if name is None:
        raise Invalid(
            f'{label} "{_show(value)}" is not an IANA time zone — use a name such as Asia/Shanghai or America/New_York',
            field="time_zone",
        )
    return name


def normalise_locale(value: str, *, label: str = "locale") -> str:
    """zh-CN, zh_cn and zh_CN are all stored as zh_CN (the form the config and translations use)."""
    match = _LOCALE.fullmatch(value.strip())
    if match is None:
        raise Invalid(f'{label} "{_show(value)}" is not a locale — write it as en or zh_CN', field="locale")
    language, region = match[1].lower(), match[2]
    return f"{language}_{region.upper()}" if region else language


def split_name(full: str) -> tuple[str, str]:
    """(first_name, last_name) from a full name.

    Chinese names put the surname first and have no space: 王芳 -> ("芳", "王"), 欧阳娜娜 -> ("娜娜", "欧阳").
    Western names put it last: "Mary Ann Smith" -> ("Mary Ann", "Smith"); "Smith, John" -> ("John", "Smith").
    A single word is a first name.
    """
    full = " ".join(full.split())
    if not full:
        return "", ""
    if _CJK.search(full):
        if " " in full:
            surname, _, given = full.partition(" ")
            return given, surname
        if len(full) == 1:
            return full, ""
        size = 2 if len(full) > 2 and full[:2] in COMPOUND_SURNAMES else 1
        return full[size:], full[:size]
    if "," in full:
        last, _, first = full.partition(",")
        return first.strip(), last.strip()
    first, _, last = full.rpartition(" ")
    return (first, last) if first else (last, "")


def normalise_lifecycle_stage(value: str, *, label: str = "lifecycle_stage") -> str:
    """One of LIFECYCLE_STAGES, from its code or a usual word for it (潜在, loyal, 休眠…)."""
    stage = _LIFECYCLE.get(" ".join(value.split()).lower())
    if stage is None:
        raise Invalid(f'{label} "{_show(value)}" is not a lifecycle stage; use one of {", ".join(LIFECYCLE_STAGES)}',
                      field="lifecycle_stage")
    return stage


def normalise_value_tier(value: str, *, label: str = "value_tier") -> str:
    """One of VALUE_TIERS from "A", "b", "A类", "B级"."""
    match = _TIER.fullmatch(value.strip())
    if match is None:
        raise Invalid(f'{label} "{_show(value)}" is not a value tier; use one of {", ".join(VALUE_TIERS)}',
                      field="value_tier")
    return match[1].upper()


# ---------------------------------------------------------------- a whole contact
def clean_fields(
    values: Mapping[str, Any], *, default_region: str, labels: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Validate and normalise contact fields; empty values are left out (so an update does not blank them).

    `values` may hold any of CONTACT_FIELDS plus "name" (split into first/last unless those are given).
    `labels` names each field as the user knows it (a CSV header such as 手机), for the error message.
    Raises one Invalid listing every bad field of the contact, so a row is fixed in one go.
    """
    labels = labels or {}
    out: dict[str, Any] = {}
    errors: list[Invalid] = []
    for field, raw in values.items():
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            continue
        label = labels.get(field, field)
        try:
            out.update(_clean_one(field, raw, label=label, region=default_region))
        except Invalid as exc:
            errors.append(exc)
    if "name" in out:
        first, last = split_name(out.pop("name"))
        if first:
            out.setdefault("first_name", first)
        if last:
            out.setdefault("last_name", last)
    if errors:
        raise Invalid("; ".join(e.message for e in errors), field=errors[0].field)
    return out


def _clean_one(field: str, raw: Any, *, label: str, region: str) -> dict[str, Any]:
    if field == "birthday":
        return {field: parse_birthday(raw, label=label)}
    value = str(raw).strip()
    if field == "email":
        return {field: normalise_email(value, label=label)}
    if field == "phone":
        return {field: normalise_phone(value, region=region, label=label)}
    if field == "country":
        return {field: normalise_country(value, label=label)}
    if field == "time_zone":
        return {field: normalise_time_zone(value, label=label)}
    if field == "locale":
        return {field: normalise_locale(value, label=label)}
    if field == "name":
        return {field: value}
    if field == "lifecycle_stage":
        return {field: normalise_lifecycle_stage(value, label=label)}
    if field == "value_tier":
        return {field: normalise_value_tier(value, label=label)}
    if field == "notes":
        # Notes keep their line breaks; only the ends are trimmed.
        if len(value) > NOTES_LIMIT:
            raise Invalid(f"{label} are {len(value)} characters long; the limit is {NOTES_LIMIT} — shorten them",
                          field=field)
        return {field: value}
    if field in MAX_LENGTHS:
        value = " ".join(value.split())
        if len(value) > MAX_LENGTHS[field]:
            raise Invalid(
                f'{label} "{_show(value)}" is {len(value)} characters long; the limit is {MAX_LENGTHS[field]} — '
                "shorten it",
                field=field,
            )
        return {field: value}
    raise Invalid(
        f'"{field}" is not a contact field; known fields: {", ".join(CONTACT_FIELDS)}, name — '
        "put anything else under attributes",
        field=field,
    )


def require_address(fields: Mapping[str, Any], *, email_label: str = "email", phone_label: str = "phone") -> None:
    """A contact nobody can message is no use to a campaign: it needs an email or a phone."""
    if not fields.get("email") and not fields.get("phone"):
        raise Invalid(f"the contact has neither an email nor a phone — fill in {email_label} or {phone_label}")


def get_contact(session: Session, contact_id: int) -> Contact:
    """The contact with this id. Raises NotFound."""
    contact = session.get(Contact, contact_id)
    if contact is None:
        raise NotFound(f"contact {contact_id} does not exist — it may have been deleted")
    return contact


@dataclass(frozen=True)
class ContactPage:
    items: list[Contact]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def contacts_filter(search: str | None, list_id: int | None, *, owner_id: int | None = None) -> list[Any]:
    """Conditions over contacts: matching `search` (name, email, phone), on list `list_id`, owned by
    `owner_id` (0: by nobody)."""
    conditions: list[Any] = []
    if owner_id is not None:
        conditions.append(Contact.owner_id.is_(None) if owner_id == 0 else Contact.owner_id == owner_id)
    if list_id is not None:
        members = select(ListMember.contact_id).where(ListMember.list_id == list_id)
        conditions.append(Contact.id.in_(members))
    term = (search or "").strip()
    if term:
        matches = [
            Contact.first_name.icontains(term, autoescape=True),
            Contact.last_name.icontains(term, autoescape=True),
            # Full names as people type them: 王芳 (surname first, no space) and "Mary Smith".
            (Contact.last_name + Contact.first_name).icontains(term, autoescape=True),
            (Contact.first_name + " " + Contact.last_name).icontains(term, autoescape=True),
            Contact.email.icontains(term, autoescape=True),
            Contact.phone.contains(term, autoescape=True),
        ]
        digits = re.sub(r"\D", "", term)
        if len(digits) >= 3:
            # "138 0013 8000" should find +8613800138000: phones are stored as bare digits.
            matches.append(Contact.phone.contains(digits, autoescape=True))
        conditions.append(or_(*matches))
    return conditions


def contacts_matching(search: str) -> Any:
    """SQL: the ids of the contacts `search` finds on the contacts page (name, email, phone, digits of a
    phone however they are spaced), for another package's filter (the Inbox search)."""
    return select(Contact.id).where(*contacts_filter(search, None))


def list_contacts(
    session: Session, *, search: str | None = None, list_id: int | None = None, page: int = 1, per_page: int = 50,
    where: Sequence[Any] = (),
) -> ContactPage:
    """One page of contacts, newest first; `search` matches name, email or phone, `list_id` a list's members,
    `where` adds conditions (audiences.contacts.bulk.selection_where builds them for the full filter)."""
    if page < 1:
        raise Invalid(f"page {page} does not exist — pages start at 1", field="page")
    if not 1 <= per_page <= 1000:
        raise Invalid(f"per_page {per_page} is out of range — ask for 1 to 1000 contacts per page", field="per_page")
    conditions = [*contacts_filter(search, list_id), *where]
    total = session.scalar(select(func.count()).select_from(Contact).where(*conditions)) or 0
    items = session.scalars(
        select(Contact).where(*conditions).order_by(Contact.id.desc()).limit(per_page).offset((page - 1) * per_page)
    ).all()
    return ContactPage(items=list(items), total=total, page=page, per_page=per_page)


def count_contacts(session: Session, list_id: int | None = None) -> int:
    """How many contacts there are, or how many are on one list."""
    query = select(func.count()).select_from(Contact)
    if list_id is not None:
        query = select(func.count()).select_from(ListMember).where(ListMember.list_id == list_id)
    return session.scalar(query) or 0
