"""Reading a file row by row (:class:`kernel.filereading.SheetStream`) and keeping an upload in parts
(:mod:`kernel.uploadparts`): nothing is read whole, nothing is read twice more than asked."""

from __future__ import annotations

import io
import types
from typing import Any

import pytest

from kernel.filereading import ImportRefused, Limits, SheetStream, read_sheet
from kernel.uploadparts import PART_BYTES, open_upload, store
from tests.test_filereading import cells, xlsx


class Counting(io.BytesIO):
    """A file that remembers how far into it anything has read."""

    def __init__(self, data: bytes, reads: list[int]):
        super().__init__(data)
        self.reads = reads

    def read(self, size: int | None = -1) -> bytes:  # type: ignore[override]
        chunk = super().read(size)
        self.reads.append(self.tell())
        return chunk

    def readinto(self, buffer: Any) -> int:
        count = super().readinto(buffer)
        self.reads.append(self.tell())
        return count


def opened(data: bytes) -> tuple[SheetStream, list[int]]:
    reads: list[int] = []
    return SheetStream(lambda: Counting(data, reads), Limits(rows=10_000_000, bytes=2**30)), reads


def big_csv(rows: int, encoding: str = "utf-8") -> bytes:
    return ("名称,电话\r\n" + "".join(f"公司{i:06d},138{i:08d}\r\n" for i in range(rows))).encode(encoding)


def test_csv_rows_come_one_at_a_time_from_a_generator():
    data = big_csv(100_000)  # ≈ 3 MB
    sheet, reads = opened(data)
    assert sheet.headers == ["名称", "电话"] and sheet.source == "CSV, UTF-8"
    reads.clear()
    rows = sheet.iter_rows()
    assert isinstance(rows, types.GeneratorType)
    assert next(rows) == (2, ["公司000000", "13800000000"])
    assert max(reads) < 2**20 < len(data)  # the first row read a prefix, not the file
    rest = list(rows)
    assert len(rest) == 99_999 and rest[-1] == (100_001, ["公司099999", "13800099999"])
    assert sheet.count == 100_000 and sheet.filled_columns() == {0, 1}


def test_a_gbk_csv_is_told_from_its_prefix_and_streamed():
    sheet, _ = opened(big_csv(20_000, "gbk"))
    assert sheet.source == "CSV, GB18030" and sheet.headers == ["名称", "电话"]
    assert sheet.preview(2) == [(2, ["公司000000", "13800000000"]), (3, ["公司000001", "13800000001"])]
    assert sheet.count == 20_000


def test_text_that_stops_being_its_encoding_is_refused_naming_the_row():
    data = big_csv(30_000) + "坏行,1\r\n".encode("gbk")  # UTF-8 for its first 256 KB, then not
    sheet, _ = opened(data)
    assert sheet.source == "CSV, UTF-8"
    with pytest.raises(ImportRefused, match="not UTF-8 text past row"):
        sheet.scan()


def test_xlsx_rows_stream_while_the_sheet_is_parsed():
    rows = "".join(cells(n, f"公司{n:06d}", f"138{n:08d}") for n in range(2, 60_002))
    data = xlsx(cells(1, "名称", "电话") + rows)
    sheet, reads = opened(data)
    assert sheet.headers == ["名称", "电话"] and sheet.source == "XLSX"
    reads.clear()
    stream = sheet.iter_rows()
    assert isinstance(stream, types.GeneratorType)
    assert next(stream) == (2, ["公司000002", "13800000002"])
    import zipfile

    part = zipfile.ZipFile(io.BytesIO(data)).getinfo("xl/worksheets/sheet1.xml")
    end = part.header_offset + part.compress_size  # where the worksheet's packed bytes end
    within = [r for r in reads if part.header_offset < r <= end + 64]
    assert within and max(within) < part.header_offset + part.compress_size // 2  # the first row came early in the worksheet
    assert sum(1 for _ in stream) == 59_999
    assert sheet.count == 60_000


def test_the_in_memory_reader_gives_the_same_rows():
    data = big_csv(500, "gbk")
    sheet, _ = opened(data)
    whole = read_sheet(data)
    assert (whole.headers, whole.source, whole.rows) == (sheet.headers, sheet.source, list(sheet.iter_rows()))


def test_the_reading_time_limit_counts_reading_only():
    limits = Limits(rows=10**6, bytes=2**30, seconds=0)
    with pytest.raises(ImportRefused, match="more than 0 seconds"):
        SheetStream(lambda: io.BytesIO(big_csv(5_000)), limits).scan()


def test_an_upload_is_kept_in_parts_and_read_back_seekably(make_site):
    site = make_site()
    data = bytes(range(256)) * (3 * PART_BYTES // 256) + b"tail"
    import sqlalchemy as sa

    from kernel.models import Upload, User

    with site.write() as conn:
        user = conn.execute(sa.insert(User.__table__).values(email="u@example.com", password_hash="x", role="admin", active=True,
                                                             created_at=site.clock.now(), updated_at=site.clock.now()).returning(User.__table__.c.id)).scalar_one()
        upload_id = conn.execute(sa.insert(Upload.__table__).values(
            token_hash="t" * 64, user_id=user, entity="x", filename="x", size=0, data=b"", created_at=site.clock.now(),
        ).returning(Upload.__table__.c.id)).scalar_one()
        size, digest = store(conn, upload_id, io.BytesIO(data))
    assert size == len(data)
    handle = open_upload(site, upload_id, size)
    assert handle.read() == data
    handle.seek(PART_BYTES - 2)
    assert handle.read(4) == data[PART_BYTES - 2 : PART_BYTES + 2]  # across two parts
    assert handle.seek(-4, io.SEEK_END) == len(data) - 4 and handle.read() == b"tail"
