"""Reports as files: each table as CSV, all of them as one XLSX workbook (a sheet per table).

The cells are the report's own values (CampaignReport.tables(), OverviewReport.tables()), the ones
the page shows and the API returns. Text a spreadsheet would run as a formula (= + - @, tab, CR at
the start) gets a leading apostrophe (DESIGN §8); a plain decimal number such as "-12.50" is a number,
left alone, and written to XLSX as a number.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, Protocol

from core.errors import NotFound

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"-?\d+(\.\d+)?")


class HasTables(Protocol):
    def tables(self) -> list[tuple[str, str, list[str], list[list[Any]]]]: ...


def neutralise(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float | Decimal):
        return value
    text = str(value)
    if text.startswith(FORMULA_START) and not NUMBER.fullmatch(text):
        return "'" + text
    return text


def table_keys(report: HasTables) -> list[str]:
    return [key for key, *_ in report.tables()]


def _table(report: HasTables, key: str) -> tuple[str, str, list[str], list[list[Any]]]:
    for table in report.tables():
        if table[0] == key:
            return table
    raise NotFound(f'the report has no table "{key}"; its tables are: {", ".join(table_keys(report))}')


def report_csv(report: HasTables, key: str) -> str:
    """One table as CSV text (UTF-8 when encoded; the caller adds a BOM for Excel if it wants one)."""
    _, _, columns, rows = _table(report, key)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([neutralise(c) for c in columns])
    writer.writerows([neutralise(v) for v in row] for row in rows)
    return out.getvalue()


def _xlsx_value(value: Any) -> Any:
    value = neutralise(value)
    if isinstance(value, str) and NUMBER.fullmatch(value):
        return Decimal(value)  # a number in the sheet, not text
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    return ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value


def report_xlsx(report: HasTables, keys: Sequence[str] | None = None) -> bytes:
    """Every table (or `keys`) as a sheet of one workbook, titled like the page's tables."""
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    used: set[str] = set()
    for key, title, columns, rows in report.tables():
        if keys is not None and key not in keys:
            continue
        name = re.sub(r"[\[\]:*?/\\]", " ", title)[:31]  # Excel's limits on sheet names
        while name in used:
            name = name[:28] + f" {len(used)}"
        used.add(name)
        sheet = book.create_sheet(name)
        sheet.append([neutralise(c) for c in columns])
        for row in rows:
            sheet.append([_xlsx_value(v) for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
