"""Workbooks for import tests, including damaged and malicious ones, built in memory."""

from __future__ import annotations

import io
import zipfile

from openpyxl import Workbook


def workbook(rows: list[list[object]]) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def with_member(xlsx: bytes, name: str, content: bytes, *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    """The workbook with one member replaced (or added)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(xlsx)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            if item.filename != name:
                target.writestr(item, source.read(item.filename))
        target.writestr(zipfile.ZipInfo(name), content, compress_type=compression, compresslevel=9)
    return out.getvalue()


def bomb() -> bytes:
    """A valid workbook whose shared strings unpack to 24 MB from about 25 KB: Ann's name is 24 MB of "A"."""
    xlsx = workbook([["email", "name"], ["ann@example.com", "Ann"]])
    strings = (b'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
               b'2006/main" count="4" uniqueCount="4"><si><t>email</t></si><si><t>name</t></si>'
               b"<si><t>ann@example.com</t></si><si><t>"
               + b"A" * (24 * 1024 * 1024) + b"</t></si></sst>")
    return with_member(xlsx, "xl/sharedStrings.xml", strings)
