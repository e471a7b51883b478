"""Reading an uploaded CSV or XLSX file into rows, within limits an attacker cannot talk it out of.

:func:`read_sheet` recognises the file by its content and reads it into memory (a :class:`Sheet`);
:func:`stream_sheet` / :class:`SheetStream` read it row by row from a file, a generator that never
holds more than the row at hand (and, for XLSX, the workbook's shared strings): what a 1M-row
import in a worker reads. CSV is read through ``io.TextIOWrapper`` in UTF-8 (with or without a
byte-order mark), UTF-16 with a mark, or GB18030/GBK when its first 256 KB are not UTF-8 (what
Chinese Excel writes); the delimiter (``,`` tab ``;``) is the one the first line uses most. XLSX is read by a
streaming reader of its own: the first worksheet's XML is parsed event by event, row by row, the
declared ``<dimension>`` is never consulted, and a part with a DOCTYPE (entity expansion, external
entities) is refused.

Every read is bounded by :class:`Limits`: the file's size, its rows (not counting empty ones), its
columns, the characters in one cell, and for XLSX the bytes inflated from the archive (in total,
and per compressed byte) and the seconds spent. A file past a limit is refused as soon as the
reader sees it, with :class:`ImportRefused` naming the limit.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import os
import posixpath
import re
import time as clock
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, BinaryIO
from xml.parsers import expat

from .errors import CRMError

MAX_BYTES = 20 * 2**20
MAX_ROWS = 50_000
MAX_COLUMNS = 500
MAX_CELL_CHARS = 32_767  # what an Excel cell holds
MAX_INFLATED_BYTES = 200 * 2**20
MAX_RATIO = 100  # inflated bytes per compressed byte, past the first MB of a part
MAX_SECONDS = 60.0
_XLS_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_RATIO_ALLOWANCE = 2**20
_CHUNK = 64 * 1024


class ImportRefused(CRMError):
    """The file as a whole cannot be imported (unreadable, too large, a column that matches no field)."""


@dataclass(frozen=True)
class Limits:
    """How much one file may hold; ``rows`` and ``bytes`` come from ``[crm] import_max_rows`` and
    ``import_max_bytes`` (see :meth:`for_settings`)."""

    bytes: int = MAX_BYTES
    rows: int = MAX_ROWS
    columns: int = MAX_COLUMNS
    cell_chars: int = MAX_CELL_CHARS
    inflated_bytes: int = MAX_INFLATED_BYTES
    ratio: int = MAX_RATIO
    seconds: float = MAX_SECONDS

    @classmethod
    def for_settings(cls, settings: Any) -> Limits:
        """The import page's limits: rows and bytes from the settings; per 20 MB of them, a minute of
        reading and 160 MB unpacked from an XLSX (the ratio per part stays)."""
        size = getattr(settings, "import_max_bytes", MAX_BYTES)
        scale = max(1.0, size / MAX_BYTES)
        return cls(
            bytes=size, rows=getattr(settings, "import_max_rows", MAX_ROWS), seconds=MAX_SECONDS * scale,
            inflated_bytes=max(MAX_INFLATED_BYTES, 8 * size),
        )


@dataclass(frozen=True)
class Sheet:
    """A file's header row and its data rows (with their row numbers, the header being row 1), in memory."""

    headers: list[str]
    rows: list[tuple[int, list[Any]]]
    source: str  # "CSV, UTF-8", "CSV, GB18030", "XLSX"

    @property
    def count(self) -> int:
        return len(self.rows)

    def iter_rows(self) -> Iterator[tuple[int, list[Any]]]:
        return iter(self.rows)

    def filled_columns(self) -> set[int]:
        """The indexes of the columns that hold a value in some row."""
        return {i for _, cells in self.rows for i, value in enumerate(cells) if value is not None}


class SheetStream:
    """A file read row by row, never held whole: :meth:`iter_rows` is a generator over a file
    opened anew by ``opener`` (a binary, seekable file); what a worker imports a large file with.

    :meth:`scan` reads it through once (counting its rows and the columns holding values, and
    checking every limit) before anything is written; the limit on seconds counts the time spent
    reading, not the time the caller spends between rows.
    """

    def __init__(self, opener: Callable[[], BinaryIO], limits: Limits | None = None):
        self.opener, self.limits = opener, limits or Limits()
        self._count: int | None = None
        self._filled: set[int] | None = None
        rows = self._rows()
        try:
            self.headers, self.source = next(rows)
        finally:
            rows.close()

    def _rows(self) -> Iterator[Any]:
        guard = _Guard(self.limits)
        return _timed(_stream(self.opener(), guard), guard)

    def iter_rows(self) -> Iterator[tuple[int, list[Any]]]:
        """The data rows as ``(row number, cells)``, read as they are asked for."""
        rows = self._rows()
        next(rows)
        return rows

    def preview(self, count: int) -> list[tuple[int, list[Any]]]:
        """The first ``count`` data rows (reading no further)."""
        rows = self.iter_rows()
        try:
            return list(itertools.islice(rows, count))
        finally:
            rows.close()

    def scan(self) -> None:
        count, filled = 0, set()
        known = 0  # columns 0 … known-1 are all filled somewhere: a row no wider adds nothing
        for _, cells in self.iter_rows():
            count += 1
            if len(cells) > known:
                filled.update(i for i, value in enumerate(cells) if value is not None)
                while known in filled:
                    known += 1
        self._count, self._filled = count, filled

    @property
    def count(self) -> int:
        if self._count is None:
            self.scan()
        assert self._count is not None
        return self._count

    def filled_columns(self) -> set[int]:
        if self._filled is None:
            self.scan()
        assert self._filled is not None
        return self._filled


def read_sheet(data: bytes, limits: Limits | None = None) -> Sheet:
    """Read a CSV or XLSX file (recognised by its content, not its name) into memory."""
    limits = limits or Limits()
    guard = _Guard(limits)
    rows = _timed(_stream(io.BytesIO(data), guard), guard)
    headers, source = next(rows)
    return Sheet(headers, list(rows), source)


def stream_sheet(path: str | os.PathLike[str], limits: Limits | None = None) -> SheetStream:
    """A file on disk as a :class:`SheetStream`."""
    return SheetStream(lambda: open(path, "rb"), limits)


def _stream(handle: BinaryIO, guard: _Guard) -> Iterator[Any]:
    """``(headers, source)``, then each data row that holds anything as ``(number, cells)``."""
    with handle:
        size = handle.seek(0, io.SEEK_END)
        handle.seek(0)
        if size > guard.limits.bytes:
            raise ImportRefused(f"the file is {size / 2**20:.1f} MB; at most {guard.limits.bytes / 2**20:g} MB can be imported at once")
        start = handle.read(len(_XLS_MAGIC))
        handle.seek(0)
        if start.startswith(_XLS_MAGIC):
            raise ImportRefused("this is an old Excel .xls file; save it as .xlsx or CSV first")
        if start.startswith(b"PK\x03\x04"):
            yield from _xlsx_rows(handle, guard)
        else:
            yield from _csv_rows(handle, guard)


def _timed(rows: Iterator[Any], guard: _Guard) -> Iterator[Any]:
    """``rows``, with the guard's clock running only while a row is being read."""
    try:
        while True:
            guard.resume()
            try:
                item = next(rows)
            except StopIteration:
                return
            yield item
    finally:
        rows.close()  # type: ignore[attr-defined]


class _Guard:
    """Counts what a read has seen against the limits and refuses past one."""

    def __init__(self, limits: Limits):
        self.limits = limits
        self.spent = 0.0
        self.mark = clock.monotonic()
        self.rows = 0

    def columns(self, count: int, where: str) -> None:
        if count > self.limits.columns:
            raise ImportRefused(f"{where} has more than {self.limits.columns:,} columns; at most {self.limits.columns:,} can be imported")

    def cell(self, text: str, where: str) -> None:
        if len(text) > self.limits.cell_chars:
            raise ImportRefused(f"{where} holds more than {self.limits.cell_chars:,} characters in one cell")

    def clock(self) -> None:
        """Refuse a read past ``limits.seconds`` of reading (time the caller spends between rows not counted)."""
        now = clock.monotonic()
        self.spent += now - self.mark
        self.mark = now
        if self.spent > self.limits.seconds:
            raise ImportRefused(f"the file took more than {self.limits.seconds:g} seconds to read; split it into several files")

    def resume(self) -> None:
        """The caller asks for the next row: the clock runs again from now."""
        self.mark = clock.monotonic()

    def add(self, number: int, cells: list[Any]) -> tuple[int, list[Any]] | None:
        """A data row as kept (``None`` when it holds nothing); refuses more than the row limit."""
        values = [(c.strip() or None) if type(c) is str else _cell(c) for c in cells]  # _cell, text inlined
        if not any(v is not None for v in values):
            return None
        if self.rows == self.limits.rows:
            raise ImportRefused(f"the file has more than {self.limits.rows:,} rows; split it into several files")
        self.rows += 1
        return number, values


def _cell(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


# -- CSV --------------------------------------------------------------------------------------

#: Bytes read to tell the text's encoding.
_PREFIX = 256 * 1024


def _encoding(prefix: bytes) -> tuple[str, str, int]:
    """The codec, its name as shown and the bytes to skip (a mark), from the file's first bytes:
    UTF-8 (BOM or not), UTF-16 with a BOM, else GB18030 (which GBK is a part of)."""
    if prefix.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", "UTF-16", 0
    skip = 3 if prefix.startswith(codecs.BOM_UTF8) else 0
    for codec, name in (("utf-8", "UTF-8"), ("gb18030", "GB18030")):
        try:
            codecs.getincrementaldecoder(codec)().decode(prefix[skip:], final=len(prefix) < _PREFIX)
        except UnicodeDecodeError:
            continue
        return codec, name, skip
    raise ImportRefused("the file is neither UTF-8 nor GB18030/GBK text; save it as “CSV UTF-8” or .xlsx")


def _csv_rows(handle: BinaryIO, guard: _Guard) -> Iterator[Any]:
    codec, encoding, skip = _encoding(handle.read(_PREFIX))
    handle.seek(skip)
    text = io.TextIOWrapper(handle, encoding=codec, newline="")
    lines = _lines(text, guard)
    try:
        first_line = next(lines, "")
    except UnicodeDecodeError:
        raise ImportRefused(f"the file starts like {encoding} text but is not") from None
    delimiter = max((",", "\t", ";"), key=first_line.count) if first_line else ","
    # an unquoted line has exactly one column more than delimiters: refuse a wide header before splitting it
    if first_line.count(delimiter) >= guard.limits.columns and '"' not in first_line:
        guard.columns(first_line.count(delimiter) + 1, "the first row")
    number = 1
    try:
        records = csv.reader(itertools.chain([first_line] if first_line else [], lines), delimiter=delimiter)
        header = next(records, None)
        if header is None:
            raise ImportRefused("the file is empty; the first row must name the columns")
        _check_csv_row(guard, header, 1)
        yield [str(h).strip() for h in header], f"CSV, {encoding}"
        for number, cells in enumerate(records, start=2):
            _check_csv_row(guard, cells, number)
            kept = guard.add(number, cells)
            if kept is not None:
                yield kept
    except csv.Error as exc:
        raise ImportRefused(f"the CSV file cannot be read: {exc}") from None
    except UnicodeDecodeError:
        raise ImportRefused(f"the file is not {encoding} text past row {number}; save it as “CSV UTF-8” or .xlsx") from None


def _lines(text: io.TextIOWrapper, guard: _Guard) -> Iterator[str]:
    """The text's lines, each at most as long as a full row may be."""
    longest = guard.limits.columns * (guard.limits.cell_chars + 3)
    while line := text.readline(longest + 1):
        if len(line) > longest:
            raise ImportRefused(f"a line of the file is longer than {longest:,} characters")
        yield line


def _check_csv_row(guard: _Guard, cells: list[str], number: int) -> None:
    """The row's width and its longest cell against the limits (the row named only when one is passed:
    this runs for every row of a million-row file, twice)."""
    limits = guard.limits
    if len(cells) > limits.columns:
        guard.columns(len(cells), f"row {number}")
    if cells and max(map(len, cells)) > limits.cell_chars:
        guard.cell(max(cells, key=len), f"row {number}")
    if number % 1000 == 0:
        guard.clock()


# -- XLSX -------------------------------------------------------------------------------------

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
_OFFICE_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_REF = re.compile(r"^\$?([A-Z]{1,3})\$?(\d+)$")
_INTEGER = re.compile(r"^[+-]?\d+$")
# built-in number formats that show a date or a time (ECMA-376 18.8.30)
_DATE_FORMATS = frozenset({14, 15, 16, 17, 18, 19, 20, 21, 22, 27, 30, 36, 45, 46, 47, 50, 57})
_TIME_FORMATS = frozenset({18, 19, 20, 21, 45, 46, 47})
_FORMAT_NOISE = re.compile(r'"[^"]*"|\[[^\]]*\]|\\.|_.|\*.')
_EPOCH_1900 = datetime(1899, 12, 30)
_EPOCH_1904 = datetime(1904, 1, 1)


def _xlsx_rows(handle: BinaryIO, guard: _Guard) -> Iterator[Any]:
    try:
        archive = zipfile.ZipFile(handle)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ImportRefused(f"the file is not a readable .xlsx workbook ({exc})") from None
    with archive:
        inflated = sum(info.file_size for info in archive.infolist())
        if inflated > guard.limits.inflated_bytes:
            raise ImportRefused(
                f"the workbook unpacks to {inflated / 2**20:.0f} MB; at most {guard.limits.inflated_bytes // 2**20} MB can be imported at once"
            )
        for info in archive.infolist():
            if info.file_size > _allowed(info, guard.limits):
                raise _bomb(info.filename, guard.limits)
        book = _Book(archive, guard)
        headed = False
        try:
            sheet_path, date1904 = book.first_sheet()
            strings = book.shared_strings()
            dates = book.date_styles()
            rows = _SheetReader(guard, strings, dates, _EPOCH_1904 if date1904 else _EPOCH_1900)
            for _ in book.parse_stepwise(sheet_path, rows.parser()):
                if not headed and rows.seen:
                    headed = True
                    yield _headers(rows.header), "XLSX"
                pending, rows.pending = rows.pending, []
                yield from pending
        except (zipfile.BadZipFile, KeyError, ValueError, EOFError, OSError) as exc:
            raise ImportRefused(f"the file is not a readable .xlsx workbook ({exc})") from None
    if not headed:
        raise ImportRefused("the first worksheet is empty; its first row must name the columns")


def _headers(header: list[Any] | None) -> list[str]:
    headers = ["" if h is None else str(h).strip() for h in header or []]
    while headers and not headers[-1]:
        headers.pop()
    return headers


def _allowed(info: zipfile.ZipInfo, limits: Limits) -> int:
    """How many bytes one part may inflate to: the total cap, and ``ratio`` times its packed size."""
    return min(limits.inflated_bytes, max(info.compress_size, 1) * limits.ratio + _RATIO_ALLOWANCE)


def _bomb(name: str, limits: Limits) -> ImportRefused:
    return ImportRefused(
        f"{name} unpacks to more than {limits.ratio} times its packed size (or over {limits.inflated_bytes // 2**20} MB); "
        "the workbook looks like a zip bomb"
    )


class _Book:
    """The parts of a workbook, each inflated within the limits and parsed without DOCTYPEs."""

    def __init__(self, archive: zipfile.ZipFile, guard: _Guard):
        self.archive, self.guard = archive, guard
        self.names = set(archive.namelist())
        self.parts: dict[str, str] = {}  # the workbook's related parts by type, once first_sheet has read them

    def parse(self, name: str, parser: Any) -> None:
        for _ in self.parse_stepwise(name, parser):
            pass

    def parse_stepwise(self, name: str, parser: Any) -> Iterator[None]:
        """Parse part ``name`` a chunk at a time, pausing (yielding) after each chunk."""
        info = self.archive.getinfo(name)
        limit = _allowed(info, self.guard.limits)
        seen = 0
        with self.archive.open(info) as handle:
            while chunk := handle.read(_CHUNK):
                seen += len(chunk)
                if seen > limit:  # the archive's directory understated it
                    raise _bomb(name, self.guard.limits)
                self.guard.clock()
                try:
                    parser.Parse(chunk, False)
                except expat.ExpatError as exc:
                    raise ImportRefused(f"the file is not a readable .xlsx workbook ({name}: {exc})") from None
                yield
            try:
                parser.Parse(b"", True)
            except expat.ExpatError as exc:
                raise ImportRefused(f"the file is not a readable .xlsx workbook ({name}: {exc})") from None
            yield

    def elements(self, name: str) -> list[tuple[str, dict[str, str]]]:
        """A small part's elements (name, attributes), in order."""
        found: list[tuple[str, dict[str, str]]] = []
        parser = _parser(lambda tag, attrs: found.append((tag, attrs)))
        self.parse(name, parser)
        return found

    def first_sheet(self) -> tuple[str, bool]:
        """The first worksheet's part name and whether the workbook counts dates from 1904."""
        if "xl/workbook.xml" not in self.names:
            raise ImportRefused("the file is not a readable .xlsx workbook (it has no xl/workbook.xml)")
        workbook = self.elements("xl/workbook.xml")
        date1904 = any(tag == f"{_MAIN} workbookPr" and attrs.get("date1904") in ("1", "true") for tag, attrs in workbook)
        sheets = [attrs.get(f"{_OFFICE_RELS} id") for tag, attrs in workbook if tag == f"{_MAIN} sheet"]
        if not sheets:
            raise ImportRefused("the workbook has no worksheet")
        targets, self.parts = self._relations("xl/_rels/workbook.xml.rels")
        path = targets.get(sheets[0] or "", "xl/worksheets/sheet1.xml")
        if path not in self.names:
            raise ImportRefused("the workbook's first worksheet is missing")
        return path, date1904

    def _relations(self, name: str) -> tuple[dict[str, str], dict[str, str]]:
        """A relationships part: targets by id, and by type (``sharedStrings``, ``styles``)."""
        by_id: dict[str, str] = {}
        by_type: dict[str, str] = {}
        if name not in self.names:
            return by_id, by_type
        base = posixpath.dirname(posixpath.dirname(name))
        for tag, attrs in self.elements(name):
            if tag == f"{_RELS} Relationship" and "Id" in attrs and "Target" in attrs:
                target = attrs["Target"]
                path = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(base, target))
                by_id[attrs["Id"]] = path
                by_type.setdefault(attrs.get("Type", "").rsplit("/", 1)[-1], path)
        return by_id, by_type

    def _part(self, kind: str, default: str) -> str | None:
        path = self.parts.get(kind, default)
        return path if path in self.names else None

    def shared_strings(self) -> list[str]:
        path = self._part("sharedStrings", "xl/sharedStrings.xml")
        if path is None:
            return []
        reader = _SharedStrings(self.guard)
        self.parse(path, reader.parser())
        return reader.strings

    def date_styles(self) -> dict[int, str]:
        """Cell style index → ``"date"`` or ``"time"`` for the styles whose number format shows one."""
        path = self._part("styles", "xl/styles.xml")
        if path is None:
            return {}
        custom: dict[int, str] = {}
        styles: list[int] = []
        in_cell_xfs = False
        for tag, attrs in self.elements(path):
            if tag == f"{_MAIN} numFmt":
                custom[int(attrs.get("numFmtId", "0"))] = attrs.get("formatCode", "")
            elif tag == f"{_MAIN} cellXfs":
                in_cell_xfs = True
            elif tag == f"{_MAIN} cellStyleXfs" or tag == f"{_MAIN} dxfs":
                in_cell_xfs = False
            elif tag == f"{_MAIN} xf" and in_cell_xfs:
                styles.append(int(attrs.get("numFmtId", "0")))
        kinds = {}
        for index, format_id in enumerate(styles):
            kind = _format_kind(format_id, custom.get(format_id))
            if kind:
                kinds[index] = kind
        return kinds


def _format_kind(format_id: int, code: str | None) -> str | None:
    if code is None:
        return "time" if format_id in _TIME_FORMATS else "date" if format_id in _DATE_FORMATS else None
    plain = _FORMAT_NOISE.sub("", code.split(";")[0]).lower().replace("am/pm", "")
    if re.search(r"[dy]", plain):
        return "date"
    if re.search(r"[hs:]", plain):
        return "time"
    return "date" if "m" in plain else None


def _parser(start: Callable[[str, dict[str, str]], None], end: Callable[[str], None] | None = None, text: Callable[[str], None] | None = None) -> Any:
    """An expat parser with namespaces that refuses any DOCTYPE (so no entity can be declared)."""
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.buffer_text = True

    def refuse(*_: Any) -> None:
        raise ImportRefused("the workbook declares a DOCTYPE (XML entities), which spreadsheets never need; it is refused")

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse
    parser.StartElementHandler = start
    if end is not None:
        parser.EndElementHandler = end
    if text is not None:
        parser.CharacterDataHandler = text
    return parser


class _SharedStrings:
    """``xl/sharedStrings.xml``: each ``<si>``'s text (rich-text runs joined, phonetic runs left out)."""

    def __init__(self, guard: _Guard):
        self.guard = guard
        self.strings: list[str] = []
        self.parts: list[str] | None = None
        self.in_text = False
        self.phonetic = 0
        self.size = 0

    def parser(self) -> Any:
        return _parser(self.start, self.end, self.text)

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        if tag == f"{_MAIN} si":
            self.parts, self.size = [], 0
        elif tag == f"{_MAIN} rPh":
            self.phonetic += 1
        elif tag == f"{_MAIN} t" and not self.phonetic:
            self.in_text = True

    def end(self, tag: str) -> None:
        if tag == f"{_MAIN} si" and self.parts is not None:
            self.strings.append("".join(self.parts))
            self.parts = None
        elif tag == f"{_MAIN} rPh":
            self.phonetic -= 1
        elif tag == f"{_MAIN} t":
            self.in_text = False

    def text(self, data: str) -> None:
        if self.in_text and self.parts is not None:
            self.size += len(data)
            if self.size > self.guard.limits.cell_chars:
                raise ImportRefused(f"a text of the workbook holds more than {self.guard.limits.cell_chars:,} characters in one cell")
            self.parts.append(data)


class _SheetReader:
    """A worksheet's ``<row>`` and ``<c>`` elements as rows of values, as they stream by."""

    def __init__(self, guard: _Guard, strings: list[str], dates: dict[int, str], epoch: datetime):
        self.guard, self.strings, self.dates, self.epoch = guard, strings, dates, epoch
        self.header: list[Any] | None = None
        self.seen = False  # a row ended: the header (row 1, if the sheet has one) is known
        self.pending: list[tuple[int, list[Any]]] = []  # data rows parsed and not yet taken
        self.row_number = 0
        self.cells: dict[int, Any] = {}
        self.cell: dict[str, str] | None = None
        self.column = -1
        self.value: list[str] = []
        self.collect = False
        self.size = 0

    def parser(self) -> Any:
        return _parser(self.start, self.end, self.text)

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        if tag == f"{_MAIN} row":
            given = attrs.get("r")
            self.row_number = int(given) if given and given.isdigit() else self.row_number + 1
            self.cells, self.column = {}, -1
        elif tag == f"{_MAIN} c":
            match = _REF.match(attrs.get("r", ""))
            self.column = _column_index(match.group(1)) if match else self.column + 1
            self.guard.columns(self.column + 1, f"row {self.row_number}")
            self.cell, self.value, self.size = attrs, [], 0
        elif tag in (f"{_MAIN} v", f"{_MAIN} t") and self.cell is not None:
            self.collect = True

    def text(self, data: str) -> None:
        if self.collect:
            self.size += len(data)
            if self.size > self.guard.limits.cell_chars:
                raise ImportRefused(f"row {self.row_number} holds more than {self.guard.limits.cell_chars:,} characters in one cell")
            self.value.append(data)

    def end(self, tag: str) -> None:
        if tag in (f"{_MAIN} v", f"{_MAIN} t"):
            self.collect = False
        elif tag == f"{_MAIN} c" and self.cell is not None:
            value = self._value(self.cell, "".join(self.value))
            if value is not None:
                self.cells[self.column] = value
            self.cell = None
        elif tag == f"{_MAIN} row":
            width = max(self.cells, default=-1) + 1
            row = [self.cells.get(i) for i in range(width)]
            if self.row_number == 1 and not self.seen:
                self.header = row
            elif self.row_number > 1:
                kept = self.guard.add(self.row_number, row)
                if kept is not None:
                    self.pending.append(kept)
            self.seen = True
            if self.row_number % 1000 == 0:
                self.guard.clock()

    def _value(self, attrs: dict[str, str], raw: str) -> Any:
        kind = attrs.get("t", "n")
        if kind == "s":
            index = int(raw) if raw.strip().isdigit() else -1
            if not 0 <= index < len(self.strings):
                raise ValueError(f"row {self.row_number} names shared text {raw!r}, which the workbook does not have")
            return self.strings[index]
        if kind in ("inlineStr", "str"):
            return raw
        if kind == "b":
            return raw.strip() in ("1", "true")
        if kind in ("e", "d"):
            return raw or None
        if not raw.strip():
            return None
        number: int | float = int(raw) if _INTEGER.match(raw.strip()) else float(raw)
        style = attrs.get("s")
        shows = self.dates.get(int(style)) if style and style.isdigit() else None
        if shows is None:
            return number
        epoch = self.epoch + timedelta(days=1) if self.epoch == _EPOCH_1900 and 0 <= number < 60 else self.epoch  # Excel's 1900-02-29
        try:
            moment = epoch + timedelta(milliseconds=round(float(number) * 86_400_000))
        except (OverflowError, ValueError):
            return number
        if shows == "time" and 0 <= number < 1:
            return moment.time()
        return moment


def _column_index(letters: str) -> int:
    index = 0
    for letter in letters:
        index = index * 26 + ord(letter) - 64
    return index - 1
