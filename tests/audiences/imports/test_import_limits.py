"""Import files that try to exhaust the server are refused before parsing; any file's rows all land or are reported.

An .xlsx is a zip: a small upload can declare members that unpack to hundreds of megabytes (a zip
bomb), which openpyxl would parse whole. The fuzzed imports check the importer's promise for any
input: no crash, and every row of the file is counted as imported, updated, a duplicate, skipped or
rejected with a reason.
"""

from __future__ import annotations

import csv
import io
import time
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from audiences import Contact, import_contacts
from core.config import ImportConfig
from core.errors import Invalid
from tests.audiences.imports.workbooks import bomb, with_member, workbook


def run(session, clock, data: bytes, *, filename: str = "contacts.xlsx", limits: ImportConfig | None = None):
    return import_contacts(session, io.BytesIO(data), filename=filename, default_region="US", now=clock.now(),
                           limits=limits)


def test_a_zip_bomb_workbook_is_refused_before_parsing_naming_the_setting(backend, session, clock):
    data = bomb()
    assert len(data) < 100_000
    started = time.monotonic()
    with pytest.raises(Invalid) as refused:
        run(session, clock, data, filename="bomb.xlsx")
    assert time.monotonic() - started < 2  # openpyxl never saw it
    message = str(refused.value)
    assert "bomb.xlsx" in message and "xl/sharedStrings.xml" in message
    assert "[imports] max_compression_ratio = 100" in message and "HERALD_IMPORTS_MAX_COMPRESSION_RATIO" in message
    assert session.scalar(select(func.count()).select_from(Contact)) == 0


def test_a_workbook_unpacking_past_the_total_limit_is_refused(backend, session, clock):
    # Stored, not compressed: a ratio of 1, so only the total can catch it.
    data = with_member(workbook([["email"], ["ann@example.com"]]), "xl/media/padding.bin", b"x" * (2 * 1024 * 1024),
                       compression=zipfile.ZIP_STORED)
    with pytest.raises(Invalid, match=r"unpacks to 2 MB, more than \[imports\] max_uncompressed_mb = 1"):
        run(session, clock, data, limits=ImportConfig(max_uncompressed_mb=1))
    assert run(session, clock, data, limits=ImportConfig(max_uncompressed_mb=3)).imported == 1


def test_an_ordinary_workbook_passes_the_limits(session, clock):
    rows = [["email", "name"]] + [[f"person{i}@example.com", f"Person {i}"] for i in range(2000)]
    assert run(session, clock, workbook(rows)).imported == 2000


# ---------------------------------------------------------------- fuzzed imports
CELL = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30)
# openpyxl refuses control characters in cells (Excel cannot hold them), so the workbook fuzz leaves them out.
XLSX_CELL = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=30)
EMAILISH = st.one_of(CELL, st.emails().map(str))
PHONEISH = st.one_of(CELL, st.from_regex(r"\+?[0-9 ()-]{5,16}", fullmatch=True))
FUZZ = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                       HealthCheck.too_slow])


def accounted(report) -> int:
    return report.imported + report.updated + report.duplicates_in_file + report.skipped + report.rejected_count


@FUZZ
@given(rows=st.lists(st.tuples(EMAILISH, PHONEISH, CELL), max_size=12))
def test_any_csv_import_lands_or_reports_every_row(session, clock, rows):
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(["email", "phone", "name"])
    writer.writerows(rows)
    report = run(session, clock, text.getvalue().encode("utf-8"), filename="fuzz.csv")
    # A row of empty cells written by csv is still a line the reader returns, so the counts match exactly.
    assert report.total_rows == len(rows)
    assert accounted(report) == report.total_rows
    assert all(rejected.reason for rejected in report.rejected)


@FUZZ
@given(rows=st.lists(st.tuples(st.one_of(XLSX_CELL, st.emails().map(str)), st.one_of(XLSX_CELL, st.integers()),
                               XLSX_CELL), max_size=12))
def test_any_xlsx_import_lands_or_reports_every_row(session, clock, rows):
    report = run(session, clock, workbook([["email", "phone", "name"], *map(list, rows)]), filename="fuzz.xlsx")
    assert accounted(report) == report.total_rows
    # Excel drops trailing empty rows, so a file may hold fewer rows than were appended, never more.
    assert report.total_rows <= len(rows)
    assert all(rejected.reason for rejected in report.rejected)


GOOD_XLSX = workbook([["email", "name"], ["ann@example.com", "Ann"], ["bob@example.com", "Bob"]])


@FUZZ
@given(data=st.one_of(st.binary(max_size=2000), st.binary(max_size=2000).map(lambda b: b"PK\x03\x04" + b),
                      # A real workbook with a few bytes changed: damaged zips and damaged XML inside good zips.
                      st.lists(st.tuples(st.integers(0, len(GOOD_XLSX) - 1), st.integers(0, 255)), min_size=1,
                               max_size=8).map(lambda edits: damaged(GOOD_XLSX, edits))))
def test_any_bytes_are_imported_or_refused_with_a_message(session, clock, data):
    for filename in ("fuzz.csv", "fuzz.xlsx"):
        try:
            report = run(session, clock, data, filename=filename)
        except Invalid as exc:
            assert exc.message
        else:
            assert accounted(report) == report.total_rows


def damaged(data: bytes, edits: list[tuple[int, int]]) -> bytes:
    out = bytearray(data)
    for offset, value in edits:
        out[offset] = value
    return bytes(out)
