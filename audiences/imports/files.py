"""Reading an import file: CSV in whatever encoding Excel wrote it, or an XLSX workbook, one row at a time.

Both kinds come out the same way, a header and then `(line, cells)` pairs of text, so the importer
never knows which it read. Nothing holds more than one buffer of the file: CSV is decoded in 64 KiB
pieces, XLSX is read with openpyxl's read-only (streaming) mode. A file that cannot be read at all is
refused with Invalid before anything is written; a line that cannot be read becomes an `Unreadable`
row, which the importer reports.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from itertools import chain
from typing import TYPE_CHECKING, Any, BinaryIO

from core.config import ImportConfig
from core.errors import Invalid

if TYPE_CHECKING:
    from _csv import Reader as CsvReader

READ_BYTES = 64 * 1024
# The encoding is decided on at least this many non-ASCII bytes (or the whole file, or LOOKAHEAD_BYTES).
# 1,920 common characters are valid UTF-8 in GBK (伟 is D7 B0, as U+05F0 would be): a GBK file whose first
# 64 KiB held only 伟业 was read as UTF-8 and every Chinese row after it was rejected. 64 bytes of GBK
# text passing as UTF-8 by chance would take 32 such characters in a row.
DECIDE_ON_BYTES = 64
LOOKAHEAD_BYTES = 16 * READ_BYTES
_ASCII = bytes(range(128))

# What `--encoding` accepts, by the names people use; GBK files are read as GB18030, its superset.
ENCODINGS = {
    "utf-8": ("utf-8", "UTF-8"),
    "utf8": ("utf-8", "UTF-8"),
    "utf-8-sig": ("utf-8-sig", "UTF-8 with BOM"),
    "gbk": ("gb18030", "GBK"),
    "gb2312": ("gb18030", "GB2312"),
    "gb18030": ("gb18030", "GB18030"),
    "utf-16": ("utf-16", "UTF-16"),
}

_ZIP = b"PK\x03\x04"
_OLD_EXCEL = b"\xd0\xcf\x11\xe0"
MB = 1024 * 1024
# A member smaller than this cannot hurt whatever its ratio (a tiny styles.xml often packs 50:1).
_RATIO_FLOOR_BYTES = MB
_MAX_MEMBERS = 10_000  # a workbook has a few dozen parts; tens of thousands is a bomb of another shape


@dataclass(frozen=True)
class Unreadable:
    """A line the file format itself cannot read; nothing after it can be read either."""

    line: int
    reason: str


@dataclass
class ImportFile:
    """An opened import file: its header, its rows, and what it turned out to be."""

    header: list[str]
    rows: Iterator[tuple[int, list[str]] | Unreadable]  # (line number, cells); the header is line 1
    kind: str  # "CSV" | "XLSX"
    size_bytes: int | None = None  # CSV: the file's size when the stream can tell it
    sheet_rows: int | None = None  # XLSX: the row count the sheet declares
    _upload: _DecodedUpload | None = None
    _line: list[int] = field(default_factory=lambda: [0])

    @property
    def encoding(self) -> str:
        """The text encoding found (CSV), or "XLSX"."""
        return self._upload.encoding if self._upload is not None else self.kind

    def fraction_read(self) -> float | None:
        """How far through the file the reader is, 0 to 1, for a progress bar; None when unknown."""
        if self._upload is not None and self.size_bytes:
            return min(1.0, self._upload.bytes_read / self.size_bytes)
        if self.sheet_rows:
            return min(1.0, self._line[0] / self.sheet_rows)
        return None


def open_import_file(stream: BinaryIO, *, filename: str, encoding: str | None = None,
                     limits: ImportConfig | None = None) -> ImportFile:
    """Open a CSV (UTF-8, UTF-8 with BOM, GBK/GB18030, UTF-16; comma, semicolon or tab) or .xlsx upload.

    `encoding` forces a text encoding (one of ENCODINGS) instead of detecting it. `limits` ([imports],
    defaults when None) bound how far a workbook may unpack. Raises Invalid for an empty file, an old
    .xls workbook, an unreadable workbook, a workbook past the limits, a header line that is not CSV,
    or an unknown encoding name.
    """
    first = stream.read(READ_BYTES)
    if not first:
        raise Invalid(f"{filename} is empty — export it again with a header line such as email,phone,name")
    if first.startswith(_OLD_EXCEL):
        raise Invalid(f"{filename} is an old Excel 97–2003 workbook (.xls) — in Excel choose File › Save As › "
                      "Excel Workbook (.xlsx) or CSV UTF-8, and import that")
    if first.startswith(_ZIP):
        return _open_xlsx(stream, first, filename, limits or ImportConfig())
    forced = None
    if encoding:
        forced = ENCODINGS.get(encoding.strip().lower())
        if forced is None:
            raise Invalid(f'encoding "{encoding}" is not one Herald reads; use one of: {", ".join(ENCODINGS)}',
                          field="encoding")
    upload = _DecodedUpload(stream, first, forced)
    size = _size(stream)
    # newline="" hands line endings to the csv module, which needs them for quoted multi-line cells.
    text = io.TextIOWrapper(io.BufferedReader(upload), encoding="utf-8", newline="")
    reader = _csv_reader(text, filename)
    try:
        header = next(reader)
    except csv.Error as exc:
        raise Invalid(f"{filename}: the header line cannot be read as CSV ({exc}) — export the file again") from None
    return ImportFile(header=header, rows=_csv_rows(reader), kind="CSV", size_bytes=size, _upload=upload)


def _size(stream: BinaryIO) -> int | None:
    try:
        here = stream.tell()
        end = stream.seek(0, io.SEEK_END)
        stream.seek(here)
    except (OSError, AttributeError, ValueError, io.UnsupportedOperation):
        return None
    return end or None


# ---------------------------------------------------------------- CSV
class _DecodedUpload(io.RawIOBase):
    """The upload decoded with the encoding it turns out to have, re-encoded as UTF-8 for TextIOWrapper.

    The encoding is decided by the first non-ASCII bytes: a BOM means UTF-8 or UTF-16; bytes that are
    valid UTF-8 mean UTF-8; anything else is GB18030, what Chinese Excel writes (a superset of GBK and
    GB2312). Deciding on the first non-ASCII bytes rather than the first chunk of the file means an
    export whose first thousand rows happen to be ASCII is still read right; reading on until
    DECIDE_ON_BYTES of them are seen means a few GBK characters that happen to be valid UTF-8, or a
    character cut at the end of a chunk, do not decide it. Undecodable bytes become U+FFFD, and the
    row holding them is rejected rather than the whole import failing.
    """

    def __init__(self, stream: BinaryIO, first: bytes, forced: tuple[str, str] | None = None) -> None:
        super().__init__()
        self._stream = stream
        self._next: bytes | None = first
        self._decoder: codecs.IncrementalDecoder | None = None
        self._out = memoryview(b"")
        self._eof = False
        self.bytes_read = 0
        self.encoding = "UTF-8"
        if forced is not None:
            codec, label = forced
            if codec == "utf-8" and first.startswith(codecs.BOM_UTF8):
                codec = "utf-8-sig"
            self._use(codec, label)
        elif first.startswith(codecs.BOM_UTF8):
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
        self.bytes_read += len(chunk)
        if not chunk:
            self._eof = True
            return self._decoder.decode(b"", final=True) if self._decoder else ""
        if self._decoder is None:
            if chunk.isascii():
                return chunk.decode("ascii")
            chunk, ended = self._read_evidence(chunk)
            try:
                codecs.getincrementaldecoder("utf-8")().decode(chunk, final=ended)
                self._use("utf-8", "UTF-8")
            except UnicodeDecodeError:
                self._use("gb18030", "GB18030")
        assert self._decoder is not None
        return self._decoder.decode(chunk)

    def _read_evidence(self, chunk: bytes) -> tuple[bytes, bool]:
        """`chunk` with what follows it until it holds DECIDE_ON_BYTES non-ASCII bytes (or the file or the
        look-ahead ends), and whether the file ended."""
        pieces, size = [chunk], len(chunk)
        non_ascii = len(chunk.translate(None, _ASCII))
        while non_ascii < DECIDE_ON_BYTES and size < LOOKAHEAD_BYTES:
            more = self._stream.read(READ_BYTES)
            if not more:
                return b"".join(pieces), True
            self.bytes_read += len(more)
            pieces.append(more)
            size += len(more)
            non_ascii += len(more.translate(None, _ASCII))
        return b"".join(pieces), False


def _csv_reader(text: io.TextIOWrapper, filename: str) -> CsvReader:
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


def _csv_rows(reader: CsvReader) -> Iterator[tuple[int, list[str]] | Unreadable]:
    last_line = reader.line_num
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            # The csv module cannot resync after this (e.g. a cell over its size limit): stop and say where.
            yield Unreadable(last_line + 1, f"the file cannot be read from this line on ({exc}); rows after it were "
                                            "not imported — fix the file and import it again (rows already imported "
                                            "are updated, not duplicated)")
            return
        line, last_line = last_line + 1, reader.line_num
        yield line, cells


# ---------------------------------------------------------------- XLSX
def _open_xlsx(stream: BinaryIO, first: bytes, filename: str, limits: ImportConfig) -> ImportFile:
    import zipfile

    from openpyxl import load_workbook

    source: BinaryIO
    try:
        stream.seek(0)
        source = stream
    except (OSError, AttributeError, io.UnsupportedOperation):
        # A pipe cannot seek; a workbook is a zip, read from its end, so it has to be held whole here.
        source = io.BytesIO(first + stream.read())
    def unreadable(exc: Exception) -> Invalid:
        return Invalid(f"{filename} is not a readable Excel workbook ({type(exc).__name__}: {exc}) — open it in "
                       "Excel, save it as .xlsx or CSV UTF-8, and import that")

    try:
        _check_unpacked_size(source, filename, limits)
        source.seek(0)
        workbook = load_workbook(source, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise unreadable(exc) from None
    except Invalid:
        raise
    except Exception as exc:  # noqa: BLE001 - a damaged upload raises whatever zlib or the XML parser raises
        raise unreadable(exc) from None
    sheet = workbook.worksheets[0] if workbook.worksheets else None
    if sheet is None:
        raise Invalid(f"{filename} has no worksheet — put the contacts on the first sheet")
    rows = sheet.iter_rows(values_only=True)
    line = 0
    try:
        for values in rows:
            line += 1
            cells = [xlsx_text(v) for v in values]
            if any(cell.strip() for cell in cells):
                counter = [line]
                declared = sheet.max_row if isinstance(sheet.max_row, int) and sheet.max_row > 1 else None
                return ImportFile(header=_trim(cells), rows=_xlsx_rows(rows, counter, workbook), kind="XLSX",
                                  sheet_rows=declared, _line=counter)
    except Exception as exc:  # noqa: BLE001 - as above: the header row is in the damaged part
        workbook.close()
        raise unreadable(exc) from None
    workbook.close()
    raise Invalid(f"{filename} has no rows on its first sheet — add a header line such as email,phone,name")


def _check_unpacked_size(source: BinaryIO, filename: str, limits: ImportConfig) -> None:
    """Refuse a workbook whose members unpack past [imports] limits, before openpyxl parses any of it.

    openpyxl reads the shared strings whole even in read-only mode, so a 142 KB file whose
    sharedStrings.xml unpacks to 58 MB cost 29 s of CPU and 470 MB. The sizes checked are the ones
    the zip declares; zipfile stops a member at its declared size (a member that lies is cut short and
    fails to parse), so they bound what parsing can unpack.
    """
    import zipfile

    with zipfile.ZipFile(source) as archive:
        members = archive.infolist()
        if len(members) > _MAX_MEMBERS:
            raise Invalid(f"{filename} holds {len(members)} files; an Excel workbook holds a few dozen — open it in "
                          "Excel, save it as .xlsx or CSV UTF-8, and import that")
        total = 0
        for member in members:
            total += member.file_size
            ratio = member.file_size / max(member.compress_size, 1)
            if member.file_size > _RATIO_FLOOR_BYTES and ratio > limits.max_compression_ratio:
                raise Invalid(f"{filename}: its part {member.filename} unpacks {ratio:.0f} times its packed size, more "
                              f"than [imports] max_compression_ratio = {limits.max_compression_ratio}, so it is "
                              "refused as a possible zip bomb — save the sheet as CSV UTF-8 and import that, or "
                              "raise max_compression_ratio in config.toml (HERALD_IMPORTS_MAX_COMPRESSION_RATIO)")
        if total > limits.max_uncompressed_mb * MB:
            raise Invalid(f"{filename} unpacks to {total / MB:.0f} MB, more than [imports] max_uncompressed_mb = "
                          f"{limits.max_uncompressed_mb} — split it into smaller files or save it as CSV UTF-8, or "
                          "raise max_uncompressed_mb in config.toml (HERALD_IMPORTS_MAX_UNCOMPRESSED_MB)")


def _trim(cells: list[str]) -> list[str]:
    """The header without the empty cells Excel reports after the last used column."""
    while cells and not cells[-1].strip():
        cells.pop()
    return cells


def _xlsx_rows(rows: Iterator[tuple[Any, ...]], counter: list[int], workbook: Any
               ) -> Iterator[tuple[int, list[str]] | Unreadable]:
    try:
        while True:
            try:
                values = next(rows)
            except StopIteration:
                return
            except Exception as exc:  # noqa: BLE001 - damaged sheet XML or zip data past this row
                # Like a CSV line the csv module cannot read: nothing after it can be read either.
                yield Unreadable(counter[0] + 1, f"the workbook cannot be read from this row on ({type(exc).__name__}: "
                                                 f"{exc}); rows after it were not imported — open it in Excel, save "
                                                 "it again and import it again (rows already imported are updated, "
                                                 "not duplicated)")
                return
            counter[0] += 1
            yield counter[0], [xlsx_text(v) for v in values]
    finally:
        workbook.close()


def xlsx_text(value: Any) -> str:
    """A cell's value as the text a CSV export of it would hold.

    Excel stores phone numbers typed without a + as numbers (13800138000.0): a whole float is written
    without ".0", so it reads back as the number it was. Dates become ISO dates (a midnight datetime
    too: Excel has no date-only type).
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
