"""Contact import: streamed, validated row by row, deduplicated, written in chunks.

The file is read once, front to back (audiences/imports/files.py), its columns mapped to fields
(audiences/imports/mapping.py); only one chunk of rows is held at a time. Good rows land even when
others are bad; bad rows are written to an error file as they are found, with their line number and
a reason a marketer can act on, so a million bad rows cost disk, not memory.

Rows are matched to contacts by external id, then email, then phone. What a match does depends on
the mode: "update" overwrites the contact with the row's non-empty cells, "skip" leaves it as it is
(the row counts as skipped), "new-only" rejects the row into the error file ("already a contact").

A bad email or phone costs the row only that address (`on_bad_address` "drop-field", the default):
the row lands without it and is listed as a warning, in the report and the error file. With
"reject-row" the whole row is rejected, as any other bad cell rejects it. A contact with no country
gets the country of its phone number.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from audiences.contacts import check_region, find_or_add_list, find_or_add_tag, list_custom_fields
from audiences.imports import writes
from audiences.imports.files import Unreadable, open_import_file
from audiences.imports.mapping import plan_columns
from audiences.imports.report import (
    KEPT_ROWS,
    DuplicateRow,
    ErrorFile,
    ImportReport,
    RejectedRow,
    WarnedRow,
    file_columns,
)
from audiences.imports.rows import (
    ADDRESS_POLICIES,
    PARALLEL_AFTER,
    Bad,
    GoodRow,
    RowCheck,
    check_rows,
    worker_count,
)
from audiences.models import CONTACT_FIELDS, Contact, ContactTag
from core.config import ImportConfig
from core.errors import Invalid

CHUNK_ROWS = 500
MODES = ("update", "skip", "new-only")
Progress = Callable[[ImportReport, float | None], None]  # (report so far, fraction of the file read or None)


# ---------------------------------------------------------------- rows
class _Rows:
    """The file's good rows, one at a time; blank rows are counted as skipped, bad ones rejected."""

    def __init__(self, rows: Iterator[tuple[int, list[str]] | Unreadable], check: RowCheck, report: ImportReport,
                 errors: ErrorFile, *, workers: int, parallel_after: int) -> None:
        self._rows, self.check, self._report, self._errors = rows, check, report, errors
        self._workers, self._parallel_after = workers, parallel_after
        self._unreadable: Unreadable | None = None

    def reject(self, line: int, reason: str, values: dict[str, str]) -> None:
        rejected = RejectedRow(row=line, reason=reason, values=values)
        self._report.rejected_count += 1
        if len(self._report.rejected) < KEPT_ROWS:
            self._report.rejected.append(rejected)
        self._errors.write(rejected)

    def warn(self, row: GoodRow, cells: list[str]) -> None:
        """The row landed without the addresses it had wrong: say which, and why, in the report and error file."""
        for dropped in row.dropped:
            warned = WarnedRow(row=row.line, field=dropped.field, value=dropped.value, reason=dropped.reason,
                               values=self.values(cells))
            self._report.warned_count += 1
            if len(self._report.warned) < KEPT_ROWS:
                self._report.warned.append(warned)
            self._errors.write(warned)

    def values(self, cells: list[str]) -> dict[str, str]:
        return {name: (cells[i] if i < len(cells) else "") for i, name in enumerate(self.check.plan.names)}

    def _raw(self) -> Iterator[tuple[int, list[str]]]:
        report = self._report
        for item in self._rows:
            report.total_rows += 1
            if isinstance(item, Unreadable):
                self._unreadable = item  # reported after the rows before it, to keep the error file in order
                return
            if any(cell.strip() for cell in item[1]):
                yield item
            else:
                report.skipped += 1

    def __iter__(self) -> Iterator[tuple[GoodRow, list[str]]]:
        for result, cells in check_rows(self._raw(), self.check, workers=self._workers,
                                        parallel_after=self._parallel_after):
            if isinstance(result, Bad):
                self.reject(result.line, result.reason, self.values(cells))
            else:
                yield result, cells
        if self._unreadable is not None:
            self.reject(self._unreadable.line, self._unreadable.reason, {})


# ---------------------------------------------------------------- writing a chunk
_CONTACTS = Contact.__table__
_BLANK: dict[str, Any] = {f: None for f in CONTACT_FIELDS} | {"first_name": "", "last_name": "", "company": ""}
_KEYS = ("external_id", "email", "phone")


@dataclass(eq=False)
class _Record:
    """A contact as the import sees it: loaded from the database, or new in this chunk (id None)."""

    id: int | None
    values: dict[str, Any]  # CONTACT_FIELDS plus attributes
    first_line: int | None = None  # the line of this file that first wrote it; None: not written by this file
    changed: bool = False
    tags: set[str] = field(default_factory=set)  # tags the file gives it (added; tags it has stay)


@dataclass
class _Keys:
    external_id: dict[str, _Record] = field(default_factory=dict)
    email: dict[str, _Record] = field(default_factory=dict)
    phone: dict[str, _Record] = field(default_factory=dict)

    def add(self, record: _Record) -> None:
        for kind in _KEYS:
            key = record.values[kind]
            if key:
                getattr(self, kind)[key] = record

    def forget(self, record: _Record) -> None:
        for kind in _KEYS:
            key = record.values[kind]
            if key and getattr(self, kind).get(key) is record:
                del getattr(self, kind)[key]

    def match(self, fields: Mapping[str, Any]) -> tuple[_Record | None, str]:
        """external_id first, then email, then phone; a contact with a different external_id is someone else."""
        ext = fields.get("external_id")
        if ext and ext in self.external_id:
            return self.external_id[ext], "external_id"
        for kind in ("email", "phone"):
            record = getattr(self, kind).get(fields.get(kind) or "")
            if record is not None and not (ext and record.values["external_id"] not in (None, ext)):
                return record, kind
        return None, ""


def _apply(record: _Record, row: GoodRow) -> None:
    record.tags |= row.tags
    merged = {**record.values, **row.fields}
    merged["attributes"] = {**(record.values["attributes"] or {}), **row.attributes}
    if not merged["country"] and row.country:
        merged["country"] = row.country  # from the number, only where the contact has no country
    if merged != record.values:
        record.values = merged
        record.changed = True


@dataclass
class _Run:
    """What one import carries from chunk to chunk."""

    session: Session
    mode: str
    list_id: int | None
    now: datetime
    report: ImportReport
    rows: _Rows
    written: dict[int, int] = field(default_factory=dict)  # contact id -> the line that first wrote it
    tag_ids: dict[str, int] = field(default_factory=dict)  # tag name -> id, found or added once per import


def _write_chunk(run: _Run, chunk: list[tuple[GoodRow, list[str]]]) -> None:
    """Match, update and insert one chunk with a fixed number of statements, then commit."""
    session, report = run.session, run.report
    rows = [row for row, _cells in chunk]
    existing = writes.find_contacts(
        session,
        external_ids={r.fields["external_id"] for r in rows if r.fields.get("external_id")},
        emails={r.fields["email"] for r in rows if r.fields.get("email")},
        phones={r.fields["phone"] for r in rows if r.fields.get("phone")},
    )
    keys = _Keys()
    loaded: list[_Record] = []
    for values in existing:  # by id, so with shared emails or phones the oldest contact wins
        record = _Record(id=values.pop("id"), values=values)
        record.first_line = run.written.get(record.id)  # type: ignore[arg-type]
        loaded.append(record)
        for kind in _KEYS:
            if values[kind]:
                getattr(keys, kind).setdefault(values[kind], record)
    new: list[_Record] = []
    listed: list[int] = []  # contacts that existed and stay as they are, but belong on the list
    for row, cells in chunk:
        record, matched_by = keys.match(row.fields)
        if record is None:
            try:
                run.rows.check.require_address(row.fields, row.dropped)
            except Invalid as exc:
                run.rows.reject(row.line, exc.message, run.rows.values(cells))
                continue
            record = _Record(id=None, values={**_BLANK, "attributes": {}}, first_line=row.line)
            new.append(record)
            report.imported += 1
        elif record.first_line is not None:
            report.duplicates_in_file += 1
            if len(report.duplicates) < KEPT_ROWS:
                report.duplicates.append(DuplicateRow(row.line, record.first_line, matched_by))
        elif run.mode == "skip":
            report.skipped += 1
            report.skipped_existing += 1
            listed.append(record.id)  # type: ignore[arg-type]
            continue
        elif run.mode == "new-only":
            run.rows.reject(row.line, f"{matched_by} matches contact {record.id}, who is already in Herald — this "
                                      'import adds new contacts only; choose "update existing" to change them',
                            run.rows.values(cells))
            continue
        else:
            report.updated += 1
            record.first_line = row.line
        keys.forget(record)
        _apply(record, row)
        keys.add(record)
        if row.dropped:
            run.rows.warn(row, cells)

    changed = [r for r in loaded if r.changed]
    if changed:
        # ORM bulk UPDATE by primary key: one executemany for the chunk (every dict has the same keys).
        # It also refreshes copies of these contacts the caller holds in this session.
        session.execute(update(Contact), [{"id": r.id, **r.values, "updated_at": run.now} for r in changed])
    new_ids: list[int] = []
    if new:
        returned = writes.insert_contacts(session, [r.values for r in new], now=run.now)
        # Two new contacts of one chunk never share a key (the second row would have matched the first),
        # so the keys pair each returned id with the line that created it, whatever order rows come back.
        by_key = {(k, r.values[k]): r for r in new for k in _KEYS if r.values[k]}
        for found in returned:
            new_ids.append(found.id)
            record = by_key[next((k, getattr(found, k)) for k in _KEYS if getattr(found, k))]
            record.id = found.id
            run.written[found.id] = record.first_line or 0
    for record in loaded:
        if record.first_line is not None and record.id is not None:
            run.written.setdefault(record.id, record.first_line)
    member_ids = [r.id for r in loaded if r.first_line is not None and r.id is not None] + new_ids + listed
    if run.list_id is not None:
        writes.add_list_members(session, list_id=run.list_id, contact_ids=member_ids, now=run.now)
    _add_tags(run, [r for r in (*loaded, *new) if r.tags and r.id is not None])
    session.commit()


def _add_tags(run: _Run, records: list[_Record]) -> None:
    """Give the chunk's contacts the tags their rows name: one lookup of the pairs present, one INSERT."""
    if not records:
        return
    for name in sorted({name for r in records for name in r.tags} - set(run.tag_ids)):
        run.tag_ids[name] = find_or_add_tag(run.session, name, now=run.now).id
    wanted = {(r.id, run.tag_ids[name]) for r in records for name in r.tags}
    ids = sorted({r.id for r in records if r.id is not None})
    present = set(run.session.execute(select(ContactTag.contact_id, ContactTag.tag_id).where(
        ContactTag.contact_id.in_(ids), ContactTag.tag_id.in_(sorted({t for _c, t in wanted})))).tuples())
    rows = [{"contact_id": c, "tag_id": t, "added_at": run.now} for c, t in sorted(wanted - present)]
    if rows:
        run.session.execute(insert(ContactTag), rows)


# ---------------------------------------------------------------- the entry points
def import_contacts(
    session: Session,
    stream: BinaryIO,
    *,
    filename: str,
    default_region: str,
    list_name: str | None = None,
    now: datetime,
    mode: str = "update",
    columns: Mapping[str, str] | None = None,
    encoding: str | None = None,
    error_file: str | Path | None = None,
    on_progress: Progress | None = None,
    chunk_rows: int = CHUNK_ROWS,
    workers: int | None = None,
    parallel_after: int = PARALLEL_AFTER,
    limits: ImportConfig | None = None,
    on_bad_address: str = "drop-field",
) -> ImportReport:
    """Import contacts from a CSV file (UTF-8, UTF-8 with BOM, GBK/GB18030, UTF-16) or an .xlsx workbook.

    Columns are mapped as mapping.propose_columns guesses, with `columns` ({column: target})
    overriding it; `encoding` forces a CSV encoding. Rows are matched to contacts by external_id,
    then email, then phone; `mode` says what a match does ("update": non-empty cells overwrite, custom
    fields are merged; "skip": left alone; "new-only": the row is rejected). Rows matching a contact an
    earlier row wrote are merged into it and reported as duplicates. With `list_name`, the list is
    created if missing and every good row's contact is put on it. Rejected rows are written to
    `error_file` (CSV, made only when a row is rejected). `on_progress` is called after every chunk.
    Past `parallel_after` rows, rows are checked in `workers` processes (default: the cores but one).
    `limits` ([imports]) bound how far an .xlsx may unpack. Phone numbers without +country code are read
    in `default_region`. `on_bad_address` says what a bad email or phone does: "drop-field" lands the row
    without it and lists it in report.warned (and the error file), "reject-row" rejects the row.
    Commits after every `chunk_rows` rows, so an interrupted import keeps what it wrote and a re-run
    updates it.

    Raises Invalid, before writing anything, for an unknown mode or on_bad_address, an empty or unreadable
    file, a bad default region, a bad column mapping, or no email or phone column. Bad rows do not raise.
    """
    if mode not in MODES:
        raise Invalid(f'import mode "{mode}" is not known; use one of: {", ".join(MODES)}', field="mode")
    if on_bad_address not in ADDRESS_POLICIES:
        raise Invalid(f'on_bad_address "{on_bad_address}" is not known; use one of: {", ".join(ADDRESS_POLICIES)}',
                      field="on_bad_address")
    region = check_region(default_region)
    opened = open_import_file(stream, filename=filename, encoding=encoding, limits=limits)
    plan = plan_columns(opened.header, filename=filename, changes=columns, with_tags=True)
    report = ImportReport(columns=plan.columns, filename=filename, encoding=opened.encoding, mode=mode,
                          region=region, on_bad_address=on_bad_address)
    if list_name is not None:
        report.list_id = find_or_add_list(session, list_name, description=f"imported from {filename}", now=now)
        # Commit now rather than with the first chunk: on SQLite the open transaction holds the write
        # lock, and parsing a chunk is the slow part.
        session.commit()
    errors = ErrorFile(Path(error_file) if error_file is not None else None, file_columns(plan.columns))
    check = RowCheck(plan=plan, region=region, custom_fields=[(f.key, f.label, f.type, list(f.choices or []))
                                                              for f in list_custom_fields(session)],
                     on_bad_address=on_bad_address)
    rows = _Rows(opened.rows, check, report, errors, parallel_after=parallel_after,
                 workers=worker_count() if workers is None else workers)
    run = _Run(session=session, mode=mode, list_id=report.list_id, now=now, report=report, rows=rows)
    try:
        chunk: list[tuple[GoodRow, list[str]]] = []
        for item in rows:
            chunk.append(item)
            if len(chunk) >= chunk_rows:
                _write_chunk(run, chunk)
                chunk = []
                report.encoding = opened.encoding
                if on_progress is not None:
                    on_progress(report, opened.fraction_read())
        if chunk:
            _write_chunk(run, chunk)
    finally:
        errors.close()
    report.encoding = opened.encoding  # decided by the first non-ASCII bytes, which may come late in the file
    if on_progress is not None:
        on_progress(report, 1.0)
    return report
