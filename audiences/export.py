"""Export: the contacts of a segment, a list or any filtered selection, as CSV or XLSX, with chosen columns.

Rows are read from the database in batches of BATCH_ROWS (a server-side cursor on PostgreSQL) and
written out as they come, so a million contacts cost one batch of memory. Every text cell that a
spreadsheet would run as a formula (= + - @, tab, CR at the start) gets a leading apostrophe: an
export opened in Excel or WPS must never execute what a contact typed into a form (DESIGN §8).
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from audiences.contacts import ContactSelection, selection_where, tags_of
from audiences.imports import neutralise
from audiences.models import CONTACT_FIELDS, Contact, CustomField
from core.errors import Invalid

BATCH_ROWS = 2000
FORMATS = {"csv": "text/csv; charset=utf-8",
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
CUSTOM = "attributes."
# What a column may be besides "attributes.<key>": the contact's own fields, its full name and its tags.
FIELD_COLUMNS = ("id", "name", *CONTACT_FIELDS, "tags", "created_at", "updated_at")
DEFAULT_COLUMNS = ("id", "name", "email", "phone", "company", "region", "lifecycle_stage", "value_tier", "tags")


def export_columns(session: Session) -> list[str]:
    """Every column an export can hold: the fields, then one per defined custom field."""
    keys = session.scalars(select(CustomField.key).order_by(CustomField.label, CustomField.key))
    return [*dict.fromkeys(FIELD_COLUMNS), *(CUSTOM + key for key in keys)]


def check_columns(columns: Sequence[str] | None) -> list[str]:
    """The columns as asked, checked; the default set when none are given. Raises Invalid naming a bad one."""
    if not columns:
        return [c for c in DEFAULT_COLUMNS if c in FIELD_COLUMNS]
    checked: list[str] = []
    for column in columns:
        name = column.strip()
        if name.startswith(CUSTOM) and 0 < len(name) - len(CUSTOM) <= 100:
            pass
        elif name not in FIELD_COLUMNS:
            raise Invalid(f'"{name}" is not a column an export can hold; use {", ".join(dict.fromkeys(FIELD_COLUMNS))} '
                          "or attributes.<custom field>", field="columns")
        if name not in checked:
            checked.append(name)
    return checked


@dataclass
class ContactExport:
    """An export ready to stream: what it holds and how to send it. `chunks()` runs the query."""

    session: Session
    where: list[ColumnElement[bool]]
    columns: list[str]
    file_format: str

    @property
    def mimetype(self) -> str:
        return FORMATS[self.file_format]

    def chunks(self) -> Iterator[bytes]:
        """The file, piece by piece (one per batch of contacts for CSV; 64 KiB pieces for XLSX)."""
        rows = _rows(self.session, self.where, self.columns)
        if self.file_format == "csv":
            return _csv_chunks(self.columns, rows)
        return _xlsx_chunks(self.columns, rows)


def export_contacts(session: Session, selection: ContactSelection, *, columns: Sequence[str] | None = None,
                    file_format: str = "csv", today: date) -> ContactExport:
    """An export of the selected contacts (a segment, a list, a search, a tag, or everyone), lowest id first.

    Checks everything before the first byte is sent: raises Invalid for an unknown format or column,
    NotFound for an unknown segment, list or tag, SegmentRuleInvalid for a segment that no longer holds.
    """
    if file_format not in FORMATS:
        raise Invalid(f'export format "{file_format}" is not known; use csv or xlsx', field="format")
    return ContactExport(session=session, where=selection_where(session, selection, today=today),
                         columns=check_columns(columns), file_format=file_format)


# ---------------------------------------------------------------- reading
_FULL_NAME = Contact.name.fget  # type: ignore[attr-defined]
_READ = [Contact.id, *(getattr(Contact, f) for f in CONTACT_FIELDS), Contact.attributes, Contact.created_at,
         Contact.updated_at]


def _rows(session: Session, where: list[ColumnElement[bool]], columns: list[str]) -> Iterator[list[Any]]:
    query = select(*_READ).where(*where).order_by(Contact.id).execution_options(yield_per=BATCH_ROWS)
    wants_tags = "tags" in columns
    for batch in session.execute(query).mappings().partitions():
        tags = tags_of(session, [row["id"] for row in batch]) if wants_tags else {}
        for row in batch:
            yield [_value(row, column, tags) for column in columns]


def _value(row: Any, column: str, tags: dict[int, list[str]]) -> Any:
    if column == "name":
        # The model's own rule (surname first for Chinese names), without building a Contact per row.
        return _FULL_NAME(SimpleNamespace(first_name=row["first_name"], last_name=row["last_name"]))
    if column == "tags":
        return ", ".join(tags.get(row["id"], []))
    if column.startswith(CUSTOM):
        return (row["attributes"] or {}).get(column.removeprefix(CUSTOM))
    return row[column]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


# ---------------------------------------------------------------- writing
def _csv_chunks(columns: list[str], rows: Iterator[list[Any]]) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")  # a BOM, so Excel reads the Chinese in it as UTF-8
    writer.writerow([neutralise(c) for c in columns])
    for count, row in enumerate(rows, start=1):
        writer.writerow([neutralise(_text(value)) for value in row])
        if count % BATCH_ROWS == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def _xlsx_cell(value: Any) -> Any:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if value is None:
        return None
    if isinstance(value, bool):
        return _text(value)
    if isinstance(value, int | float):
        return value  # a number is a number in a spreadsheet, never a formula
    # openpyxl itself would write a string starting with "=" as a formula; the apostrophe stops that too.
    return neutralise(ILLEGAL_CHARACTERS_RE.sub("", _text(value)))


def _xlsx_chunks(columns: list[str], rows: Iterator[list[Any]]) -> Iterator[bytes]:
    from openpyxl import Workbook

    # Write-only mode keeps rows in a temporary file, not in memory; the zip is assembled at save().
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("contacts")
    sheet.append([neutralise(c) for c in columns])
    for row in rows:
        sheet.append([_xlsx_cell(value) for value in row])
    with tempfile.TemporaryFile() as out:
        workbook.save(out)
        out.seek(0)
        while piece := out.read(64 * 1024):
            yield piece
