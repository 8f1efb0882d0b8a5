"""CSV import of contacts: streamed, validated row by row, deduplicated, written in chunks.

A file is read once, front to back, through the csv module; only one chunk of rows is held at a
time. Good rows land even when others are bad; bad rows come back in the report with their line
number and a reason a marketer can act on, and `write_error_file` hands them back as a CSV to fix.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from sqlalchemy import insert, update
from sqlalchemy.orm import Session

from audiences import queries
from audiences.contacts import check_region, clean_fields, require_address
from audiences.lists import find_or_add_list
from audiences.models import CONTACT_FIELDS, Contact
from core.errors import Invalid

if TYPE_CHECKING:
    from _csv import Reader as CsvReader

CHUNK_ROWS = 500
READ_BYTES = 64 * 1024

# Header aliases, compared after lowercasing and turning spaces/hyphens into "_". Chinese names are
# what CRM exports from Chinese Excel use.
FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "email": ("email", "e_mail", "email_address", "邮箱", "电子邮件", "电子邮箱", "邮件", "邮箱地址"),
    "phone": ("phone", "mobile", "phone_number", "mobile_phone", "手机", "电话", "手机号", "手机号码", "电话号码"),
    "first_name": ("first_name", "firstname", "given_name", "名"),
    "last_name": ("last_name", "lastname", "surname", "family_name", "姓"),
    "name": ("name", "full_name", "fullname", "姓名", "名字", "客户姓名"),
    "external_id": ("external_id", "id", "customer_id", "客户编号", "客户id"),
    "company": ("company", "company_name", "organization", "公司", "公司名称"),
    "country": ("country", "country_code", "国家", "国家/地区"),
    "birthday": ("birthday", "birth_date", "date_of_birth", "dob", "生日", "出生日期"),
    "time_zone": ("time_zone", "timezone", "时区"),
    "locale": ("locale", "language", "语言"),
}
_ALIAS_TO_FIELD = {alias: name for name, aliases in FIELD_ALIASES.items() for alias in aliases}

# Cells a spreadsheet would run as a formula (CSV injection); tab and CR too, as OWASP advises.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class RejectedRow:
    row: int  # line number in the file; the header is line 1
    reason: str
    values: dict[str, str]  # the row as it was in the file, by column


@dataclass
class ImportReport:
    """What an import did. total_rows = imported + updated + duplicates_in_file + skipped + len(rejected).

    imported: new contacts; updated: rows that matched a contact that existed before the import;
    duplicates_in_file: rows that matched a contact an earlier row of the same file had written;
    skipped: blank rows. columns maps each header to what it became: a contact field ("email"),
    "name" (split into first and last name), "attributes.<header>" (custom attribute) or "ignored".
    """

    imported: int = 0
    updated: int = 0
    skipped: int = 0
    rejected: list[RejectedRow] = field(default_factory=list)
    duplicates_in_file: int = 0
    list_id: int | None = None
    columns: dict[str, str] = field(default_factory=dict)
    total_rows: int = 0
    encoding: str = "UTF-8"
    filename: str = ""

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["rejected_count"] = len(self.rejected)
        return out


# ---------------------------------------------------------------- bytes -> text
class _DecodedUpload(io.RawIOBase):
    """The upload decoded with the encoding it turns out to have, re-encoded as UTF-8 for TextIOWrapper.

    The encoding is decided by the first chunk that holds a non-ASCII byte: a BOM means UTF-8 or
    UTF-16; bytes that are valid UTF-8 mean UTF-8; anything else is GB18030, what Chinese Excel
    writes. Deciding on the first non-ASCII chunk rather than the first chunk of the file means an
    export whose first thousand rows happen to be ASCII is still read right. Undecodable bytes
    become U+FFFD, and the row holding them is rejected rather than the whole import failing.
    """

    def __init__(self, stream: BinaryIO, first: bytes) -> None:
        super().__init__()
        self._stream = stream
        self._next: bytes | None = first
        self._decoder: codecs.IncrementalDecoder | None = None
        self._out = memoryview(b"")
        self._eof = False
        self.encoding = "UTF-8"
        if first.startswith(codecs.BOM_UTF8):
            self._use("utf-8-sig", "UTF-8 with BOM")
        elif first.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            self._use("utf-16", "UTF-16")

    def _use(self, codec: str, label: str) -> None:
        self._decoder = codecs.getincrementaldecoder(codec)("replace")
        self.encoding = label

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._out and not self._eof:
            self._out = memoryview(self._decode_next().encode("utf-8"))
        size = min(len(buffer), len(self._out))
        buffer[:size] = self._out[:size]
        self._out = self._out[size:]
        return size

    def _decode_next(self) -> str:
        chunk = self._next if self._next is not None else self._stream.read(READ_BYTES)
        self._next = None
        if not chunk:
            self._eof = True
            return self._decoder.decode(b"", final=True) if self._decoder else ""
        if self._decoder is None:
            if chunk.isascii():
                return chunk.decode("ascii")
            try:
                codecs.getincrementaldecoder("utf-8")().decode(chunk, final=False)
                self._use("utf-8", "UTF-8")
            except UnicodeDecodeError:
                self._use("gb18030", "GB18030")
        assert self._decoder is not None
        return self._decoder.decode(chunk)


def _open_text(stream: BinaryIO, filename: str) -> tuple[io.TextIOWrapper, _DecodedUpload]:
    first = stream.read(READ_BYTES)
    if not first:
        raise Invalid(f"{filename} is empty — export it again with a header line such as email,phone,name")
    if first.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        raise Invalid(
            f"{filename} is an Excel workbook, not a CSV file — in Excel choose File › Save As › "
            "CSV UTF-8 (comma delimited) and import that"
        )
    raw = _DecodedUpload(stream, first)
    # newline="" hands line endings to the csv module, which needs them for quoted multi-line cells.
    return io.TextIOWrapper(io.BufferedReader(raw), encoding="utf-8", newline=""), raw


def _csv_rows(text: io.TextIOWrapper, filename: str) -> CsvReader:
    """A csv reader positioned at the header, with the delimiter the header line uses (, ; or tab)."""
    head: list[str] = []
    for line in text:
        head.append(line)
        if line.strip():
            break
    if not head or not head[-1].strip():
        raise Invalid(f"{filename} has no rows — add a header line such as email,phone,name and the contacts")
    header_line = head[-1]
    delimiter = max((",", ";", "\t"), key=lambda d: (header_line.count(d), d == ","))
    return csv.reader(chain(head, text), delimiter=delimiter)


# ---------------------------------------------------------------- header -> fields
@dataclass
class _Layout:
    names: list[str]  # one display name per column
    fields: dict[str, int]  # contact field (or "name") -> column index
    attributes: dict[str, int]  # custom attribute -> column index
    labels: dict[str, str]  # contact field -> header as the user wrote it, for messages
    columns: dict[str, str]  # header -> what it became (ImportReport.columns)


def _header_key(header: str) -> str:
    return re.sub(r"[\s\-]+", "_", header.strip().lstrip("\ufeff").lower())


def _map_header(header: list[str], filename: str) -> _Layout:
    names = [cell.strip().lstrip("\ufeff").strip() or f"column {i + 1}" for i, cell in enumerate(header)]
    seen: dict[str, int] = {}
    for i, name in enumerate(names):
        if name in seen:
            raise Invalid(
                f'{filename}: column "{name}" appears twice (columns {seen[name] + 1} and {i + 1}) — '
                "rename one and import again"
            )
        seen[name] = i
    layout = _Layout(names=names, fields={}, attributes={}, labels={}, columns={})
    for i, (cell, name) in enumerate(zip(header, names, strict=True)):
        target = _ALIAS_TO_FIELD.get(_header_key(cell))
        if not cell.strip():
            layout.columns[name] = "ignored"
        elif target and target not in layout.fields:
            layout.fields[target] = i
            layout.labels[target] = name if _header_key(name) == target else f"{name} ({target})"
            layout.columns[name] = target
        else:
            # A second column for a field already taken (电话 after 手机) is kept, as an attribute.
            layout.attributes[name] = i
            layout.columns[name] = f"attributes.{name}"
    if "email" not in layout.fields and "phone" not in layout.fields:
        looks_like_data = any("@" in cell or sum(c.isdigit() for c in cell) >= 7 for cell in header)
        hint = (
            "the first line looks like a contact, not a header: add a header line such as email,phone,name"
            if looks_like_data
            else "name a column email (or 邮箱) or phone (or 手机)"
        )
        found = ", ".join(f'"{n}"' for n in names)
        raise Invalid(f"{filename}: no email or phone column among {found} — {hint}")
    return layout


# ---------------------------------------------------------------- rows
@dataclass
class _GoodRow:
    line: int
    fields: dict[str, Any]
    attributes: dict[str, str]


def _cell(cells: list[str], index: int) -> str:
    value = cells[index].strip() if index < len(cells) else ""
    # Excel writes ="00123" to keep leading zeros; the value is what is inside the quotes.
    if value.startswith('="') and value.endswith('"') and len(value) >= 3:
        value = value[2:-1].strip()
    return value


def _parse_row(cells: list[str], line: int, layout: _Layout, region: str) -> _GoodRow:
    if any("\ufffd" in cell for cell in cells):
        raise Invalid(
            "the row holds characters that could not be decoded — save the file as CSV UTF-8 and import again"
        )
    values = {name: _cell(cells, i) for name, i in layout.fields.items()}
    fields = clean_fields(values, default_region=region, labels=layout.labels)
    require_address(
        fields, email_label=layout.labels.get("email", "email"), phone_label=layout.labels.get("phone", "phone")
    )
    attributes = {name: v for name, i in layout.attributes.items() if (v := _cell(cells, i))}
    return _GoodRow(line=line, fields=fields, attributes=attributes)


def _read_rows(reader: CsvReader, layout: _Layout, region: str, report: ImportReport) -> Iterator[_GoodRow]:
    """Good rows, one at a time; blank rows are counted as skipped and bad ones recorded as rejected."""
    last_line = reader.line_num
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            # The csv module cannot resync after this (e.g. a cell over its size limit): stop here and say so.
            report.total_rows += 1
            report.rejected.append(
                RejectedRow(
                    row=last_line + 1,
                    reason=f"the file cannot be read from this line on ({exc}); rows after it were not imported — "
                    "fix the file and import it again (rows already imported are updated, not duplicated)",
                    values={},
                )
            )
            return
        line, last_line = last_line + 1, reader.line_num
        report.total_rows += 1
        if not any(cell.strip() for cell in cells):
            report.skipped += 1
            continue
        try:
            yield _parse_row(cells, line, layout, region)
        except Invalid as exc:
            values = {name: (cells[i] if i < len(cells) else "") for i, name in enumerate(layout.names)}
            report.rejected.append(RejectedRow(row=line, reason=exc.message, values=values))


# ---------------------------------------------------------------- writing a chunk
_CONTACTS = Contact.__table__
_BLANK: dict[str, Any] = {f: None for f in CONTACT_FIELDS} | {"first_name": "", "last_name": "", "company": ""}


@dataclass(eq=False)
class _Record:
    """A contact as the import sees it: loaded from the database, or new in this chunk (id None)."""

    id: int | None
    values: dict[str, Any]  # CONTACT_FIELDS plus attributes
    touched: bool = False  # written by an earlier row of this file
    changed: bool = False


@dataclass
class _Keys:
    external_id: dict[str, _Record] = field(default_factory=dict)
    email: dict[str, _Record] = field(default_factory=dict)
    phone: dict[str, _Record] = field(default_factory=dict)

    def add(self, record: _Record) -> None:
        for kind in ("external_id", "email", "phone"):
            key = record.values[kind]
            if key:
                getattr(self, kind)[key] = record

    def forget(self, record: _Record) -> None:
        for kind in ("external_id", "email", "phone"):
            key = record.values[kind]
            if key and getattr(self, kind).get(key) is record:
                del getattr(self, kind)[key]

    def match(self, fields: dict[str, Any]) -> _Record | None:
        """external_id first, then email, then phone; a contact with a different external_id is someone else."""
        ext = fields.get("external_id")
        if ext and ext in self.external_id:
            return self.external_id[ext]
        for kind in ("email", "phone"):
            record = getattr(self, kind).get(fields.get(kind) or "")
            if record is not None and not (ext and record.values["external_id"] not in (None, ext)):
                return record
        return None


def _apply(record: _Record, row: _GoodRow) -> None:
    merged = {**record.values, **row.fields}
    merged["attributes"] = {**(record.values["attributes"] or {}), **row.attributes}
    if merged != record.values:
        record.values = merged
        record.changed = True


def _write_chunk(
    session: Session,
    rows: list[_GoodRow],
    *,
    touched_ids: set[int],
    list_id: int | None,
    now: datetime,
    report: ImportReport,
) -> None:
    """Match, update and insert one chunk with a fixed number of statements, then commit."""
    existing = queries.find_contacts_by_keys(
        session,
        external_ids={r.fields["external_id"] for r in rows if r.fields.get("external_id")},
        emails={r.fields["email"] for r in rows if r.fields.get("email")},
        phones={r.fields["phone"] for r in rows if r.fields.get("phone")},
    )
    keys = _Keys()
    loaded: list[_Record] = []
    for values in existing:  # by id, so with shared emails or phones the oldest contact wins
        record = _Record(id=values.pop("id"), values=values, touched=False)
        record.touched = record.id in touched_ids
        loaded.append(record)
        for kind in ("external_id", "email", "phone"):
            if values[kind]:
                getattr(keys, kind).setdefault(values[kind], record)
    new: list[_Record] = []
    for row in rows:
        record = keys.match(row.fields)
        if record is None:
            record = _Record(id=None, values={**_BLANK, "attributes": {}})
            new.append(record)
            report.imported += 1
        elif record.touched:
            report.duplicates_in_file += 1
        else:
            report.updated += 1
        keys.forget(record)
        _apply(record, row)
        keys.add(record)
        record.touched = True

    changed = [r for r in loaded if r.changed]
    if changed:
        # ORM bulk UPDATE by primary key: one executemany for the chunk (every dict has the same keys).
        # It also refreshes copies of these contacts the caller holds in this session.
        session.execute(update(Contact), [{"id": r.id, **r.values, "updated_at": now} for r in changed])
    # Every new record came from a good row, so all new ids are touched and go on the list: no need to
    # pair ids with rows. (Asking for that pairing, sort_by_parameter_order, makes SQLite insert row by row.)
    new_ids: list[int] = []
    if new:
        # Core, not ORM, insert: the ORM leaves out None values, which splits rows with different empty
        # fields into separate statements; the table's columns still apply their types (JSON, UTC).
        new_ids = list(
            session.scalars(
                insert(_CONTACTS).returning(_CONTACTS.c.id),
                [{**r.values, "created_at": now, "updated_at": now} for r in new],
            )
        )
    member_ids = [r.id for r in loaded if r.touched and r.id is not None] + new_ids
    touched_ids.update(member_ids)
    if list_id is not None:
        queries.insert_list_members(session, list_id=list_id, contact_ids=member_ids, now=now)
    session.commit()


# ---------------------------------------------------------------- the entry points
def import_contacts(
    session: Session,
    stream: BinaryIO,
    *,
    filename: str,
    default_region: str,
    list_name: str | None = None,
    now: datetime,
    chunk_rows: int = CHUNK_ROWS,
) -> ImportReport:
    """Import contacts from a CSV file (UTF-8, UTF-8 with BOM, GB18030 or UTF-16; comma, semicolon or tab).

    Rows are matched to existing contacts by external_id, then email, then phone; a match is updated
    (non-empty cells overwrite, custom attributes are merged), anything else is created. With
    `list_name`, the list is created if missing and every good row's contact is put on it. Commits
    after every `chunk_rows` rows, so an interrupted import keeps what it wrote and a re-run updates it.

    Raises Invalid, before writing anything, for an empty file, an Excel workbook, a bad default
    region, or a header with no email or phone column. Bad rows do not raise: they are in the report.
    """
    region = check_region(default_region)
    text, upload = _open_text(stream, filename)
    reader = _csv_rows(text, filename)
    try:
        header = next(reader)
    except csv.Error as exc:
        raise Invalid(f"{filename}: the header line cannot be read as CSV ({exc}) — export the file again") from None
    layout = _map_header(header, filename)
    report = ImportReport(columns=layout.columns, filename=filename)
    if list_name is not None:
        report.list_id = find_or_add_list(session, list_name, description=f"imported from {filename}", now=now)
        # Commit now rather than with the first chunk: on SQLite the open transaction holds the write
        # lock, and parsing a chunk is the slow part.
        session.commit()
    touched_ids: set[int] = set()
    chunk: list[_GoodRow] = []
    for row in _read_rows(reader, layout, region, report):
        chunk.append(row)
        if len(chunk) >= chunk_rows:
            _write_chunk(session, chunk, touched_ids=touched_ids, list_id=report.list_id, now=now, report=report)
            chunk = []
    if chunk:
        _write_chunk(session, chunk, touched_ids=touched_ids, list_id=report.list_id, now=now, report=report)
    report.encoding = upload.encoding
    return report


def _neutralise(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def write_error_file(report: ImportReport, path: str | Path) -> Path:
    """Write the rejected rows as CSV: the file's own columns plus an "error" column, ready to fix and re-import.

    UTF-8 with BOM so Excel shows Chinese correctly; cells that Excel would run as a formula are
    prefixed with a single quote. Creates the folder if needed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = list(report.columns) or sorted({k for r in report.rejected for k in r.values})
    error_column = "error" if "error" not in columns else "import error"
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow([_neutralise(c) for c in [*columns, error_column]])
        for rejected in report.rejected:
            cells = [rejected.values.get(c, "") for c in columns]
            writer.writerow([_neutralise(c) for c in [*cells, f"line {rejected.row}: {rejected.reason}"]])
    return path
