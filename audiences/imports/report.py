"""What an import did (ImportReport, with its rejected, warned and duplicate rows) and the error file.

The error file holds every row to fix: the rejected rows, and the rows that landed without a bad
email or phone (a warning), each as the file had it plus an "error" column saying what happened and
what to do, so a marketer can fix the rows and import that file again (the "error" column is then
recognised and ignored, mapping.is_error_column). importer.py fills both as it goes.
"""

from __future__ import annotations

import csv
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO

from audiences.imports.mapping import IGNORED, is_error_column
from audiences.imports.rows import FORMULA_STARTS

# The report keeps this many rejected and duplicate rows for display; the error file has all of them.
KEPT_ROWS = 1000


@dataclass(frozen=True)
class RejectedRow:
    row: int  # line number in the file; the header is line 1
    reason: str
    values: dict[str, str]  # the row as it was in the file, by column


@dataclass(frozen=True)
class WarnedRow:
    """A row that was imported without one of its addresses, because that address was not valid."""

    row: int  # line number in the file
    field: str  # the address left out: "email" | "phone"
    value: str  # as the file had it
    reason: str  # why, and how to fix it
    values: dict[str, str]  # the row as it was in the file, by column


@dataclass(frozen=True)
class DuplicateRow:
    """A row that names a contact an earlier row of the same file already wrote; it was merged into it."""

    row: int
    first_row: int  # the earlier row
    matched_by: str  # "external_id" | "email" | "phone"


@dataclass
class ImportReport:
    """What an import did. total_rows = imported + updated + duplicates_in_file + skipped + rejected_count.

    warned: rows that landed (imported, updated or merged) without a bad email or phone, as
    `on_bad_address` "drop-field" does; `warned_count` counts them all, `warned` keeps the first KEPT_ROWS.
    `region` is the country numbers without +country code were read in.
    imported: new contacts; updated: rows that matched a contact that existed before the import;
    duplicates_in_file: rows that matched a contact an earlier row of the same file had written
    (listed in `duplicates`); skipped: blank rows plus, in mode "skip", rows of existing contacts
    (`skipped_existing`). `rejected` holds the first KEPT_ROWS bad rows; `rejected_count` all of them.
    columns maps each column to what it became: a contact field ("email"), "name" (split into first
    and last name), "tags", "attributes.<name>" (custom field) or "ignored".
    """

    imported: int = 0
    updated: int = 0
    skipped: int = 0
    rejected: list[RejectedRow] = field(default_factory=list)
    rejected_count: int = 0
    duplicates_in_file: int = 0
    duplicates: list[DuplicateRow] = field(default_factory=list)
    skipped_existing: int = 0
    list_id: int | None = None
    columns: dict[str, str] = field(default_factory=dict)
    total_rows: int = 0
    encoding: str = "UTF-8"
    filename: str = ""
    mode: str = "update"
    warned: list[WarnedRow] = field(default_factory=list)
    warned_count: int = 0
    region: str = ""
    on_bad_address: str = "drop-field"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        """The one line the CLI prints and the UI shows: what happened to every row."""
        line = (f"{self.filename}: {self.imported} imported, {self.updated} updated, {self.skipped} skipped, "
                f"{self.rejected_count} rejected")
        if self.warned_count:
            line += f" ({self.warned_count} landed without a bad email or phone)"
        return line


# ---------------------------------------------------------------- the error file
class ErrorFile:
    """Rejected rows written as they come: the file's own columns plus an "error" column, ready to fix.

    UTF-8 with BOM so Excel shows Chinese correctly; cells Excel would run as a formula are
    neutralised. The file is only made when a row is rejected.
    """

    def __init__(self, path: Path | None, columns: list[str]) -> None:
        self.path = path
        self._columns = columns
        self._out: TextIO | None = None
        self._writer: Any = None

    def start(self) -> None:
        if self.path is None or self._writer is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._out = self.path.open("w", encoding="utf-8-sig", newline="")
        self._writer = csv.writer(self._out)
        error_column = "error" if "error" not in self._columns else "import error"
        self._writer.writerow([neutralise(c) for c in [*self._columns, error_column]])

    def write(self, rejected: RejectedRow | WarnedRow) -> None:
        if self.path is None:
            return
        self.start()
        cells = [rejected.values.get(c, "") for c in self._columns]
        self._writer.writerow([neutralise(c) for c in [*cells, f"line {rejected.row}: {reason_text(rejected)}"]])

    def close(self) -> None:
        if self._out is not None:
            self._out.close()


def reason_text(row: RejectedRow | WarnedRow) -> str:
    """What the error file says about a row: why it was rejected, or which address it landed without and why."""
    if isinstance(row, RejectedRow):
        return row.reason
    return (f"imported without {row.field}: {row.reason}; correct it in this file and import the file again to "
            f"add the {row.field} (the rest of the row is already in Herald)")


def file_columns(columns: dict[str, str]) -> list[str]:
    """The columns the error file repeats: the file's own, without the reason column of an earlier error file
    (ignored on import), so the new reason column replaces a stale one instead of standing beside it."""
    return [name for name, target in columns.items() if not (target == IGNORED and is_error_column(name))]


def neutralise(value: str) -> str:
    """A cell a spreadsheet will show as text, never run: formula starts get a leading apostrophe."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def write_error_file(report: ImportReport, path: str | Path) -> Path:
    """Write the rows to fix the report holds (rejected, and landed without an address) as CSV: the file's own
    columns plus an "error" column.

    For an import that was given no `error_file`. UTF-8 with BOM so Excel shows Chinese correctly;
    cells that Excel would run as a formula are prefixed with a single quote. Creates the folder.
    """
    path = Path(path)
    columns = file_columns(report.columns) or sorted({k for r in report.rejected for k in r.values})
    out = ErrorFile(path, columns)
    try:
        out.start()
        for row in sorted([*report.rejected, *report.warned], key=lambda r: r.row):
            out.write(row)
    finally:
        out.close()
    return path
