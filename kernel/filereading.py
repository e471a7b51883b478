"""Reading an uploaded CSV or XLSX file into rows, within limits an attacker cannot talk it out of.

:func:`read_sheet` recognises the file by its content. CSV is read in UTF-8 (with or without a
byte-order mark), UTF-16 with a mark, or GB18030/GBK when it is not UTF-8 (what Chinese Excel
writes); the delimiter (``,`` tab ``;``) is the one the first line uses most. XLSX is read by a
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
import posixpath
import re
import time as clock
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
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
        return cls(bytes=getattr(settings, "import_max_bytes", MAX_BYTES), rows=getattr(settings, "import_max_rows", MAX_ROWS))


@dataclass(frozen=True)
class Sheet:
    """A file's header row and its data rows (with their row numbers, the header being row 1)."""

    headers: list[str]
    rows: list[tuple[int, list[Any]]]
    source: str  # "CSV, UTF-8", "CSV, GB18030", "XLSX"


def read_sheet(data: bytes, limits: Limits | None = None) -> Sheet:
    """Read a CSV or XLSX file (recognised by its content, not its name)."""
    limits = limits or Limits()
    if len(data) > limits.bytes:
        raise ImportRefused(f"the file is {len(data) / 2**20:.1f} MB; at most {limits.bytes / 2**20:g} MB can be imported at once")
    if data.startswith(_XLS_MAGIC):
        raise ImportRefused("this is an old Excel .xls file; save it as .xlsx or CSV first")
    guard = _Guard(limits)
    if data.startswith(b"PK\x03\x04"):
        return _read_xlsx(data, guard)
    return _read_csv(data, guard)


class _Guard:
    """Counts what a read has seen against the limits and refuses past one."""

    def __init__(self, limits: Limits):
        self.limits = limits
        self.deadline = clock.monotonic() + limits.seconds
        self.rows: list[tuple[int, list[Any]]] = []

    def columns(self, count: int, where: str) -> None:
        if count > self.limits.columns:
            raise ImportRefused(f"{where} has more than {self.limits.columns:,} columns; at most {self.limits.columns:,} can be imported")

    def cell(self, text: str, where: str) -> None:
        if len(text) > self.limits.cell_chars:
            raise ImportRefused(f"{where} holds more than {self.limits.cell_chars:,} characters in one cell")

    def clock(self) -> None:
        if clock.monotonic() > self.deadline:
            raise ImportRefused(f"the file took more than {self.limits.seconds:g} seconds to read; split it into several files")

    def add(self, number: int, cells: list[Any]) -> None:
        """Keep a data row that holds anything; refuses more than the row limit."""
        values = [_cell(c) for c in cells]
        if any(v is not None for v in values):
            if len(self.rows) == self.limits.rows:
                raise ImportRefused(f"the file has more than {self.limits.rows:,} rows; split it into several files")
            self.rows.append((number, values))


def _cell(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


# -- CSV --------------------------------------------------------------------------------------


def _decode(data: bytes) -> tuple[str, str]:
    """The text and the encoding it was read with: UTF-8 (BOM or not), UTF-16 with a BOM, else GB18030."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), "UTF-16"
        except UnicodeDecodeError:
            raise ImportRefused("the file starts like UTF-16 text but is not") from None
    try:
        if data.startswith(codecs.BOM_UTF8):
            return data[3:].decode("utf-8"), "UTF-8"
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), "GB18030"
    except UnicodeDecodeError:
        raise ImportRefused("the file is neither UTF-8 nor GB18030/GBK text; save it as “CSV UTF-8” or .xlsx") from None


def _read_csv(data: bytes, guard: _Guard) -> Sheet:
    text, encoding = _decode(data)
    first_line = text.split("\n", 1)[0]
    delimiter = max((",", "\t", ";"), key=first_line.count) if first_line else ","
    # an unquoted line has exactly one column more than delimiters: refuse a wide header before splitting it
    if first_line.count(delimiter) >= guard.limits.columns and '"' not in first_line:
        guard.columns(first_line.count(delimiter) + 1, "the first row")
    try:
        records = csv.reader(_lines(text, guard), delimiter=delimiter)
        header = next(records, None)
        if header is not None:
            _check_csv_row(guard, header, 1)
        for number, cells in enumerate(records, start=2):
            _check_csv_row(guard, cells, number)
            guard.add(number, cells)
    except csv.Error as exc:
        raise ImportRefused(f"the CSV file cannot be read: {exc}") from None
    if header is None:
        raise ImportRefused("the file is empty; the first row must name the columns")
    return Sheet([str(h).strip() for h in header], guard.rows, f"CSV, {encoding}")


def _lines(text: str, guard: _Guard) -> Iterator[str]:
    """The text's lines, each at most as long as a full row may be."""
    longest = guard.limits.columns * (guard.limits.cell_chars + 3)
    for line in io.StringIO(text, newline=""):
        if len(line) > longest:
            raise ImportRefused(f"a line of the file is longer than {longest:,} characters")
        yield line


def _check_csv_row(guard: _Guard, cells: list[str], number: int) -> None:
    guard.columns(len(cells), f"row {number}")
    for cell in cells:
        guard.cell(cell, f"row {number}")
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


def _read_xlsx(data: bytes, guard: _Guard) -> Sheet:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
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
        try:
            sheet_path, date1904 = book.first_sheet()
            strings = book.shared_strings()
            dates = book.date_styles()
            rows = _SheetReader(guard, strings, dates, _EPOCH_1904 if date1904 else _EPOCH_1900)
            book.parse(sheet_path, rows.parser())
        except (zipfile.BadZipFile, KeyError, ValueError, EOFError, OSError) as exc:
            raise ImportRefused(f"the file is not a readable .xlsx workbook ({exc})") from None
    if rows.header is None and not guard.rows:
        raise ImportRefused("the first worksheet is empty; its first row must name the columns")
    headers = ["" if h is None else str(h).strip() for h in rows.header or []]
    while headers and not headers[-1]:
        headers.pop()
    return Sheet(headers, guard.rows, "XLSX")


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
            try:
                parser.Parse(b"", True)
            except expat.ExpatError as exc:
                raise ImportRefused(f"the file is not a readable .xlsx workbook ({name}: {exc})") from None

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
            if self.row_number == 1:
                self.header = row
            elif self.row_number > 1:
                self.guard.add(self.row_number, row)
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
