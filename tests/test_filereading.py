"""Reading uploaded files within bounds (:mod:`kernel.filereading`): the bombs an attacker would send."""

from __future__ import annotations

import io
import time
import tracemalloc
import zipfile
from datetime import datetime

import pytest

from kernel.filereading import ImportRefused, Limits, read_sheet
from kernel.settings import Settings, parse_settings
from kernel.errors import ConfigError

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    "</Types>"
)
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
    "</Relationships>"
)
_SHEET_HEAD = '<?xml version="1.0" encoding="UTF-8"?>{doctype}<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'


def xlsx(rows_xml: bytes | str, *, dimension: str | None = None, doctype: str = "") -> bytes:
    """A minimal workbook whose first sheet holds ``rows_xml`` (inline strings, no shared strings)."""
    head = _SHEET_HEAD.format(doctype=doctype) + (f'<dimension ref="{dimension}"/>' if dimension else "") + "<sheetData>"
    body = rows_xml.encode() if isinstance(rows_xml, str) else rows_xml
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _ROOT_RELS)
        archive.writestr("xl/workbook.xml", _WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", _RELS)
        archive.writestr("xl/worksheets/sheet1.xml", head.encode() + body + b"</sheetData></worksheet>")
    return buffer.getvalue()


def cells(row: int, *values: str) -> str:
    letters = "ABCDEFGHIJ"
    inner = "".join(f'<c r="{letters[i]}{row}" t="inlineStr"><is><t>{v}</t></is></c>' for i, v in enumerate(values))
    return f'<row r="{row}">{inner}</row>'


def bounded(read):
    """Run ``read`` and return (its result or exception, peak MB allocated, seconds)."""
    tracemalloc.start()
    started = time.monotonic()
    try:
        result = read()
    except ImportRefused as exc:
        result = exc
    finally:
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return result, peak, time.monotonic() - started


def test_a_csv_with_a_million_header_columns_is_refused_at_once():
    data = b",".join(b"c%d" % i for i in range(1_000_000)) + b"\nx\n"
    assert len(data) > 6 * 2**20
    result, peak, seconds = bounded(lambda: read_sheet(data))
    assert isinstance(result, ImportRefused) and "more than 500 columns" in str(result)
    assert peak < 80 and seconds < 5


def test_a_wide_row_below_the_header_is_refused_too():
    data = ("name\n" + "a," * 600 + "b\n").encode()
    with pytest.raises(ImportRefused, match="row 2 has more than 500 columns"):
        read_sheet(data)


def test_a_cell_longer_than_an_excel_cell_is_refused():
    with pytest.raises(ImportRefused, match="32,767 characters"):
        read_sheet(b"name\n" + b"x" * 40_000 + b"\n")
    with pytest.raises(ImportRefused, match="32,767 characters"):
        read_sheet(xlsx(cells(1, "name") + cells(2, "x" * 40_000)))


def test_an_xlsx_declaring_the_largest_sheet_is_read_by_its_rows_not_its_dimension():
    data = xlsx(cells(1, "name", "phone") + cells(2, "ACME", "138") + cells(3, "Beta", "139"), dimension="A1:XFD1048576")
    result, peak, seconds = bounded(lambda: read_sheet(data))
    assert result.headers == ["name", "phone"]
    assert result.rows == [(2, ["ACME", "138"]), (3, ["Beta", "139"])]
    assert peak < 20 and seconds < 2


def test_cells_far_to_the_right_are_refused_before_a_row_is_built():
    far = "".join(f'<row r="{n}"><c r="XFD{n}" t="inlineStr"><is><t>x</t></is></c></row>' for n in range(2, 20_002))
    data = xlsx(cells(1, "name") + far, dimension="A1:XFD1048576")
    assert len(data) < 2**20
    result, peak, seconds = bounded(lambda: read_sheet(data))
    assert isinstance(result, ImportRefused) and "row 2 has more than 500 columns" in str(result)
    assert peak < 20 and seconds < 2


def test_a_zip_of_ten_million_empty_rows_is_refused_as_a_bomb():
    rows = b"<row><c/></row>" * 10_000_000
    data = xlsx(cells(1, "name").encode() + rows)
    assert len(data) < 2**20 < 100 * len(data)
    result, peak, seconds = bounded(lambda: read_sheet(data))
    assert isinstance(result, ImportRefused)
    assert "unpacks to" in str(result)
    assert peak < 80 and seconds < 10


def test_an_archive_past_the_inflated_size_cap_is_refused():
    data = xlsx(cells(1, "name") + "".join(cells(n, "x" * 100) for n in range(2, 3000)))
    limits = Limits(inflated_bytes=100_000)
    with pytest.raises(ImportRefused, match="unpacks to"):
        read_sheet(data, limits)
    listed = zipfile.ZipFile(io.BytesIO(data))
    assert sum(i.file_size for i in listed.infolist()) > 100_000


@pytest.mark.parametrize(
    "doctype",
    [
        '<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>',
        '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>',
        "<!DOCTYPE x>",
    ],
)
def test_an_xlsx_with_a_doctype_is_refused_cleanly(doctype):
    with pytest.raises(ImportRefused, match="DOCTYPE"):
        read_sheet(with_doctype(doctype))


def with_doctype(doctype: str) -> bytes:
    """A workbook saved by openpyxl whose worksheet XML then gets ``doctype`` (what an attacker edits in)."""
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["name"])
    book.active.append(["x"])
    saved = io.BytesIO()
    book.save(saved)
    edited = io.BytesIO()
    with zipfile.ZipFile(saved) as source, zipfile.ZipFile(edited, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            part = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                start = part.index(b"?>") + 2 if part.startswith(b"<?xml") else 0
                part = part[:start] + doctype.encode() + part[start:]
            target.writestr(info.filename, part)
    return edited.getvalue()


def test_reading_stops_after_its_time_limit():
    data = ("name\n" + "a\n" * 5000).encode()
    with pytest.raises(ImportRefused, match="more than 0 seconds"):
        read_sheet(data, Limits(seconds=0))


def test_the_row_and_size_limits_are_settings():
    settings = parse_settings({"crm": {"import_max_rows": 3, "import_max_bytes": 1000}})
    limits = Limits.for_settings(settings)
    assert (limits.rows, limits.bytes) == (3, 1000)
    with pytest.raises(ImportRefused, match="more than 3 rows"):
        read_sheet(b"name\na\nb\nc\nd\n", limits)
    assert len(read_sheet(b"name\na\nb\nc\n", limits).rows) == 3
    with pytest.raises(ImportRefused, match="at most 0.000953674 MB"):
        read_sheet(b"name\n" + b"x" * 1000, limits)
    assert Limits.for_settings(Settings()).rows == 5_000_000  # the page streams its file in a worker
    with pytest.raises(ConfigError, match="import_max_rows"):
        parse_settings({"crm": {"import_max_rows": 0}})


def test_shared_strings_styles_and_dates_of_a_real_workbook():
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["名称", "when", "n", "flag"])
    book.active.append(["甲", datetime(2026, 3, 4, 9, 30), 2.5, True])
    buffer = io.BytesIO()
    book.save(buffer)
    sheet = read_sheet(buffer.getvalue())
    assert sheet.headers == ["名称", "when", "n", "flag"]
    assert sheet.rows == [(2, ["甲", datetime(2026, 3, 4, 9, 30), 2.5, True])]


def test_shared_strings_are_found_through_the_workbooks_relationships():
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["name"])
    book.active.append(["甲公司"])
    saved = io.BytesIO()
    book.save(saved)
    moved = io.BytesIO()
    with zipfile.ZipFile(saved) as source, zipfile.ZipFile(moved, "w") as target:
        for info in source.infolist():
            part = source.read(info)
            if info.filename == "xl/_rels/workbook.xml.rels":
                part = part.replace(b"sharedStrings.xml", b"words.xml")
            target.writestr("xl/words.xml" if info.filename == "xl/sharedStrings.xml" else info.filename, part)
    assert read_sheet(moved.getvalue()).rows == [(2, ["甲公司"])]
