"""Conversions: purchases reported by the API or an imported file, recorded once per order and attributed.

One path for both: each row becomes a ConversionInput (or a rejection with its reason), then
record_conversions takes the rows in chunks: it finds each contact by external id, email or phone,
checks an explicit campaign code, converts the amount to the workspace currency, decides the
attribution (campaigns/results/attribution.py) and inserts with ON CONFLICT (order_id) DO NOTHING, so the
same order reported twice — by a retrying shop, or by two imports of the same file — is one
conversion. Good rows land even when others are bad; bad ones come back with a reason.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import DateTime, Integer, Numeric, String, any_, bindparam, cast, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

import audiences
from audiences import Contact
from campaigns.models import Conversion
from campaigns.results.attribution import Purchase, attribute, campaign_ids_by_code, to_base_currency
from core.config import Config
from core.db import UTCDateTime
from core.errors import HeraldError, Invalid

CHUNK_ROWS = 500
LIMITS = {"order_id": 100, "product": 200, "category": 100, "campaign_code": 100}
MAX_AMOUNT = Decimal("999999999999.99")  # Numeric(14, 2)
# A purchase dated this far ahead of now is a mistake (a swapped day and month, a wrong year).
FUTURE_TOLERANCE = timedelta(days=1)
FIELDS = ("order_id", "amount", "currency", "occurred_at", "external_id", "email", "phone", "product", "category",
          "campaign_code")


@dataclass(frozen=True)
class ConversionSettings:
    """What recording needs from the configuration."""

    currency: str  # the workspace currency, [app] currency
    rates: Mapping[str, Decimal]  # [currency.rates]
    time_zone: str  # for times written without a zone, [app] default_timezone
    region: str  # for phones written without a country code, [app] default_region

    @classmethod
    def from_config(cls, config: Config) -> ConversionSettings:
        return cls(config.currency, config.currency_rates, config.default_timezone, config.default_region)


@dataclass(frozen=True)
class ConversionInput:
    order_id: str
    amount: Decimal
    currency: str
    occurred_at: datetime
    external_id: str = ""
    email: str = ""
    phone: str = ""
    product: str = ""
    category: str = ""
    campaign_code: str = ""
    line: int | None = None  # the file line it came from (the header is line 1)


@dataclass(frozen=True)
class RejectedConversion:
    reason: str
    line: int | None = None
    order_id: str = ""
    values: dict[str, str] = field(default_factory=dict)
    field: str | None = None  # the field at fault, when one is


@dataclass
class ConversionReport:
    """What recording did: total_rows = recorded + duplicates + len(rejected) (+ skipped blank rows)."""

    recorded: int = 0
    duplicates: int = 0  # order ids already recorded (earlier, or by an earlier row of the same file)
    skipped: int = 0  # blank rows
    rejected: list[RejectedConversion] = field(default_factory=list)
    attribution: dict[str, int] = field(default_factory=lambda: {"code": 0, "click": 0, "receipt": 0, "none": 0})
    conversions: list[Conversion] = field(default_factory=list)  # the recorded rows, for the API's answer
    total_rows: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "recorded": self.recorded, "duplicates": self.duplicates, "skipped": self.skipped,
            "rejected": [{"line": r.line, "order_id": r.order_id, "reason": r.reason, "values": r.values}
                         for r in self.rejected],
            "rejected_count": len(self.rejected), "attribution": dict(self.attribution), "total_rows": self.total_rows,
        }


# ---------------------------------------------------------------- one row
def conversion_input(values: Mapping[str, Any], settings: ConversionSettings, *, now: datetime,
                     line: int | None = None) -> ConversionInput:
    """Check one reported conversion and return it cleaned. Raises Invalid naming the field and the fix.

    `values` holds FIELDS (strings from a file, or JSON values from the API). The currency defaults
    to the workspace's and the time to `now`; a time without a zone is in [app] default_timezone.
    """
    def text(name: str) -> str:
        value = values.get(name)
        if value is None:
            return ""
        if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
            raise Invalid(f"{name} must be text, not {type(value).__name__}", field=name)
        cleaned = str(value).strip()
        if name in LIMITS and len(cleaned) > LIMITS[name]:
            raise Invalid(f"{name} is {len(cleaned)} characters long; the limit is {LIMITS[name]}", field=name)
        return cleaned

    order_id = text("order_id")
    if not order_id:
        raise Invalid("order_id is required: it is what makes reporting the same order twice harmless",
                      field="order_id")
    external_id, email, phone = text("external_id"), text("email"), text("phone")
    if not (external_id or email or phone):
        raise Invalid("say whose purchase it is: give the contact's external_id, email or phone", field="external_id")
    if email:
        email = audiences.normalise_email(email)
    if phone:
        phone = audiences.normalise_phone(phone, region=settings.region)
    currency = (text("currency") or settings.currency).upper()
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise Invalid(f'currency "{currency}" is not a three-letter ISO 4217 code such as USD, EUR or CNY',
                      field="currency")
    occurred_at = parse_time(values.get("occurred_at"), settings.time_zone, now=now)
    if occurred_at > now + FUTURE_TOLERANCE:
        raise Invalid(f"occurred_at {occurred_at.isoformat()} is in the future; check the date (day and month "
                      "swapped? wrong year?)", field="occurred_at")
    return ConversionInput(
        order_id=order_id, amount=parse_amount(values.get("amount")), currency=currency, occurred_at=occurred_at,
        external_id=external_id, email=email, phone=phone, product=text("product"), category=text("category"),
        campaign_code=text("campaign_code"), line=line,
    )


def parse_amount(raw: Any) -> Decimal:
    """A money amount: 128, "128.50", "1,280.00" or "¥128" (the symbol is dropped; the currency column says)."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise Invalid("amount is required, e.g. 128.50", field="amount")
    if isinstance(raw, bool):
        raise Invalid("amount must be a number such as 128.50, not true/false", field="amount")
    text = str(raw).strip()
    cleaned = re.sub(r"^[^\d\-+.]+", "", text).replace(",", "").replace(" ", "")
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        raise Invalid(f'amount "{text}" is not a number; write it like 128.50', field="amount") from None
    if not amount.is_finite() or amount < 0:
        raise Invalid(f'amount "{text}" must be 0 or more (a refund is not a conversion)', field="amount")
    if amount > MAX_AMOUNT:
        raise Invalid(f'amount "{text}" is too large; the most one conversion can hold is {MAX_AMOUNT}',
                      field="amount")
    return amount


_DATE_ONLY = re.compile(r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}")


def parse_time(raw: Any, time_zone: str, *, now: datetime) -> datetime:
    """An aware UTC time from ISO 8601 ("2026-11-20T14:03:00+08:00"), "2026-11-20 14:03", "2026/11/20", or
    a spreadsheet's date cell. Without a zone the time is in `time_zone`; empty means `now`."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return now
    if isinstance(raw, datetime):
        value = raw
    elif isinstance(raw, date):
        value = datetime(raw.year, raw.month, raw.day)
    elif isinstance(raw, str):
        text = raw.strip()
        if _DATE_ONLY.fullmatch(text):
            text = re.sub(r"[/.]", "-", text)
            parts = [int(p) for p in text.split("-")]
            text = f"{parts[0]:04d}-{parts[1]:02d}-{parts[2]:02d}"
        try:
            value = datetime.fromisoformat(text.replace("/", "-").replace("Z", "+00:00"))
        except ValueError:
            raise Invalid(f'occurred_at "{raw}" is not a time; write it as 2026-11-20T14:03:00+08:00 or '
                          "2026-11-20 14:03", field="occurred_at") from None
    else:
        raise Invalid("occurred_at must be an ISO 8601 time such as 2026-11-20T14:03:00Z", field="occurred_at")
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(time_zone))
    return value.astimezone(UTC)


# ---------------------------------------------------------------- many rows
Row = ConversionInput | RejectedConversion


def record_conversion(session: Session, values: Mapping[str, Any], settings: ConversionSettings, *, now: datetime,
                      source: str = "api") -> tuple[Conversion, bool]:
    """Record one conversion; (the conversion, True) when new, (the one recorded before, False) for a repeat
    of its order id. Raises Invalid (or UnknownCurrency) with the reason when it cannot be recorded. Commits.
    """
    report = record_conversions(session, [conversion_input(values, settings, now=now)], settings, now=now,
                                source=source)
    if report.rejected:
        raise Invalid(report.rejected[0].reason, field=report.rejected[0].field)
    if report.conversions:
        return report.conversions[0], True
    order_id = str(values.get("order_id")).strip()
    existing = session.scalar(select(Conversion).where(Conversion.order_id == order_id))
    assert existing is not None  # a duplicate has a row by definition
    return existing, False


def record_conversions(session: Session, rows: Iterable[Row], settings: ConversionSettings, *, now: datetime,
                       source: str = "import") -> ConversionReport:
    """Record many rows in chunks of CHUNK_ROWS, each chunk in its own transaction (committed).

    Rejections already in `rows` are reported as they are; the rest may still be rejected here (no such
    contact, an unknown campaign code, a currency without a rate).
    """
    report = ConversionReport()
    chunk: list[ConversionInput] = []
    for row in rows:
        report.total_rows += 1
        if isinstance(row, RejectedConversion):
            report.rejected.append(row)
            continue
        chunk.append(row)
        if len(chunk) >= CHUNK_ROWS:
            _record_chunk(session, chunk, settings, report, now=now, source=source)
            chunk = []
    if chunk:
        _record_chunk(session, chunk, settings, report, now=now, source=source)
    report.rejected.sort(key=lambda r: (r.line is None, r.line or 0))  # in file order, as a person fixes them
    return report


def _record_chunk(session: Session, chunk: list[ConversionInput], settings: ConversionSettings,
                  report: ConversionReport, *, now: datetime, source: str) -> None:
    postgres = session.get_bind().dialect.name == "postgresql"
    contacts = _contacts_for(session, chunk, postgres=postgres)
    codes = campaign_ids_by_code(session, [row.campaign_code for row in chunk])
    seen = set(session.scalars(select(Conversion.order_id).where(
        _among(Conversion.order_id, {row.order_id for row in chunk}, String, postgres=postgres))))
    ready: list[tuple[ConversionInput, int, Decimal]] = []
    for row in chunk:
        try:
            contact_id = _contact_of(row, contacts)
            if row.campaign_code and row.campaign_code.upper() not in codes:
                raise Invalid(f'campaign code "{row.campaign_code}" names no campaign; check the code on the '
                              "campaign's page, or leave it empty to attribute by clicks and receipts",
                              field="campaign_code")
            amount_base = to_base_currency(row.amount, row.currency, base=settings.currency, rates=settings.rates)
        except HeraldError as exc:
            report.rejected.append(RejectedConversion(exc.message, row.line, row.order_id, _shown(row), exc.field))
            continue
        if row.order_id in seen:
            report.duplicates += 1
            continue
        seen.add(row.order_id)
        ready.append((row, contact_id, amount_base))
    if not ready:
        session.rollback()
        return
    decided = attribute(session, [Purchase(i, contact_id, row.occurred_at, row.campaign_code or None)
                                  for i, (row, contact_id, _) in enumerate(ready)], codes=codes)
    values = []
    for i, (row, contact_id, amount_base) in enumerate(ready):
        rule = decided[i]
        values.append(dict(
            contact_id=contact_id, order_id=row.order_id, amount=row.amount, currency=row.currency,
            amount_base=amount_base, occurred_at=row.occurred_at, product=row.product, category=row.category,
            campaign_code=row.campaign_code or None, campaign_id=rule.campaign_id, message_id=rule.message_id,
            attribution=rule.rule, source=source, created_at=now,
        ))
    # Another request may record the same order between our read and this insert: DO NOTHING makes the
    # second one a duplicate instead of an error, and RETURNING says which rows really went in.
    inserted = _insert(session, values, postgres=postgres)
    session.commit()
    report.duplicates += len(values) - len(inserted)
    report.recorded += len(inserted)
    for _, rule in inserted:
        report.attribution[rule] += 1
    wanted = CHUNK_ROWS - len(report.conversions)
    if inserted and wanted > 0:  # the API answers with the rows themselves; an import needs only the counts
        ids = sorted(conversion_id for conversion_id, _ in inserted)[:wanted]
        report.conversions.extend(session.scalars(
            select(Conversion).where(Conversion.id.in_(ids)).order_by(Conversion.id)))
        session.commit()


_PER_ROW = {  # the columns that differ from row to row, with their types, for PostgreSQL's unnest of arrays
    "contact_id": Integer, "order_id": String, "amount": Numeric, "currency": String, "amount_base": Numeric,
    "occurred_at": String, "product": String, "category": String, "campaign_code": String, "campaign_id": Integer,
    "message_id": Integer, "attribution": String,
}


@cache
def _postgres_insert() -> Any:
    """INSERT … SELECT FROM unnest(one array per column) ON CONFLICT (order_id) DO NOTHING RETURNING, built once."""
    arrays = [bindparam(name, type_=postgresql.ARRAY(kind)) for name, kind in _PER_ROW.items()]
    # Times travel as ISO 8601 text and are cast on the server: the driver's own adapter for timezone-aware
    # datetimes costs more per value than the rest of the row together.
    arrays[list(_PER_ROW).index("occurred_at")] = cast(arrays[list(_PER_ROW).index("occurred_at")],
                                                         postgresql.ARRAY(DateTime(timezone=True)))
    rows = func.unnest(*arrays).table_valued(*_PER_ROW).render_derived(name="incoming")
    once = [bindparam("source", type_=String), bindparam("created_at", type_=UTCDateTime())]
    return (postgresql.insert(Conversion).from_select([*_PER_ROW, "source", "created_at"], select(*rows.c, *once))
            .on_conflict_do_nothing(index_elements=[Conversion.order_id])
            .returning(Conversion.id, Conversion.attribution))


def _insert(session: Session, values: list[dict[str, Any]], *, postgres: bool) -> list[tuple[int, str]]:
    """Insert the rows, skipping order ids already recorded; (id, attribution rule) of those that went in.

    On PostgreSQL the rows travel as one array per column and are unnested into INSERT … SELECT: the
    statement is short and the same for every chunk, so the driver neither builds nor parses a
    VALUES list of thousands of placeholders (which cost more than the insert itself). SQLite takes an
    executemany, batched by SQLAlchemy into multi-row VALUES.
    """
    if postgres:
        params: dict[str, Any] = {name: [row[name] for row in values] for name in _PER_ROW}
        params["occurred_at"] = [at.isoformat() for at in params["occurred_at"]]
        params.update(source=values[0]["source"], created_at=values[0]["created_at"])  # the same for the chunk
        return [(row[0], row[1]) for row in session.connection().execute(_postgres_insert(), params)]
    statement = (sqlite.insert(Conversion).on_conflict_do_nothing(index_elements=[Conversion.order_id])
                 .returning(Conversion.id, Conversion.attribution))
    return [(row[0], row[1]) for row in session.connection().execute(statement, values)]


def _among(column: Any, wanted: Collection[str], kind: Any, *, postgres: bool) -> Any:
    """`column IN wanted`: as `= ANY(array)` on PostgreSQL, one short statement whatever the count."""
    if postgres:
        return column == any_(bindparam(None, sorted(wanted), type_=postgresql.ARRAY(kind)))
    return column.in_(sorted(wanted))


def _contacts_for(session: Session, chunk: list[ConversionInput], *, postgres: bool) -> dict[tuple[str, str], int]:
    """{(key kind, value): contact id} for the chunk's external ids, emails and phones: one query per kind."""
    keys: dict[tuple[str, str], int] = {}
    for kind in ("external_id", "email", "phone"):
        wanted = {getattr(row, kind) for row in chunk if getattr(row, kind)}
        if not wanted:
            continue
        column = getattr(Contact, kind)
        # By id, so when two contacts share an email the older one is found, as everywhere else.
        for contact_id, value in session.execute(select(Contact.id, column).where(
                _among(column, wanted, String, postgres=postgres)).order_by(Contact.id)):
            keys.setdefault((kind, value), contact_id)
    return keys


def _contact_of(row: ConversionInput, contacts: Mapping[tuple[str, str], int]) -> int:
    """The contact by external id, else email, else phone: the first key given that matches wins."""
    for kind in ("external_id", "email", "phone"):
        value = getattr(row, kind)
        if value and (kind, value) in contacts:
            return contacts[(kind, value)]
    given = ", ".join(f'{kind.replace("_", " ")} "{getattr(row, kind)}"' for kind in ("external_id", "email", "phone")
                      if getattr(row, kind))
    raise Invalid(f"no contact has {given}; import or create the contact first, or fix the value",
                  field="external_id")


def _shown(row: ConversionInput) -> dict[str, str]:
    def text(value: Any) -> str:
        return value.isoformat(sep=" ", timespec="minutes") if isinstance(value, datetime) else str(value)

    return {name: text(getattr(row, name)) for name in FIELDS if getattr(row, name) not in ("", None)}
