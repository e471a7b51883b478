"""Imports through :mod:`kernel.importing`: files, column matching, values, all-or-nothing, duplicates."""

from __future__ import annotations

import io
from datetime import date, datetime, timezone
from typing import Any

import pytest
import sqlalchemy as sa
from openpyxl import Workbook

from kernel import Actor, Forbidden, fielddefs
from kernel.importing import MAX_BYTES, MAX_ROWS, ImportRefused, UnknownColumns, import_rows, plan_columns, read_sheet
from kernel.models import AuditEntry

SYSTEM = Actor.system("cli")


@pytest.fixture
def site(make_site):
    site = make_site(plugins=("customers",))
    fielddefs.add_field(
        site, SYSTEM, "customers", "rating",
        {"type": "string", "enum": ["hot", "warm", "cold"], "x-labels": {"hot": {"en": "Hot", "zh_CN": "热"}}},
        label={"en": "Rating", "zh_CN": "评级"},
    )
    fielddefs.add_field(site, SYSTEM, "customers", "since", {"type": "string", "format": "date"}, label={"en": "Customer since", "zh_CN": "合作日期"})
    fielddefs.add_field(site, SYSTEM, "customers", "vip", {"type": "boolean"}, label={"en": "VIP", "zh_CN": "重点客户"})
    fielddefs.add_field(site, SYSTEM, "customers", "seats", {"type": "integer", "minimum": 0}, label={"en": "Seats", "zh_CN": "席位数"})
    fielddefs.add_field(site, SYSTEM, "customers", "budget", {"type": "number", "format": "money"}, label={"en": "Budget", "zh_CN": "预算"})
    fielddefs.add_field(
        site, SYSTEM, "customers", "channels", {"type": "array", "items": {"type": "string", "enum": ["web", "phone", "shop"]}},
        label={"en": "Channels", "zh_CN": "渠道"},
    )
    return site


def csv_bytes(text: str, encoding: str = "utf-8-sig") -> bytes:
    return text.replace("\n", "\r\n").encode(encoding)


def customers(site: Any) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in site.records.list(SYSTEM, "customers", limit=500).items}


def run(site: Any, data: bytes, **options: Any) -> Any:
    return import_rows(site, SYSTEM, "customers", read_sheet(data), **options)


CHINESE = """名称,类型,电话,评级,合作日期,重点客户,席位数,预算,渠道,标签
甲公司,企业,13800000001,热,2026/1/5,是,12,"1,234.50",web；phone,a; b
乙个人,个人,13800000002,warm,2026年2月3日,否,,88,shop,
"""


# -- files and values -------------------------------------------------------------------------


def test_a_csv_with_a_bom_and_chinese_labels_is_imported_with_every_value_converted(site):
    report = run(site, csv_bytes(CHINESE))
    assert report.summary() == "imported 2 customers, skipped 0 duplicates, 0 invalid"
    assert report.written and report.source == "CSV, UTF-8"
    stored = customers(site)
    first = stored["甲公司"]
    assert first["kind"] == "company" and first["phone"] == "+8613800000001" and first["tags"] == ["a", "b"]
    assert first["custom"] == {"rating": "hot", "since": "2026-01-05", "vip": True, "seats": 12, "budget": "1234.50", "channels": ["web", "phone"]}
    second = stored["乙个人"]
    assert second["kind"] == "individual"
    assert second["custom"] == {"rating": "warm", "since": "2026-02-03", "vip": False, "budget": "88.00", "channels": ["shop"]}


def test_every_imported_record_is_audited_on_the_import_channel(site):
    report = run(site, csv_bytes(CHINESE))
    with site.engine.connect() as conn:
        rows = conn.execute(sa.select(AuditEntry.record_id, AuditEntry.channel, AuditEntry.action).where(AuditEntry.entity == "customers")).all()
    assert sorted(r.record_id for r in rows) == sorted(report.ids)
    assert {(r.channel, r.action) for r in rows} == {("import", "create")}


def test_a_gbk_csv_is_recognised_and_said_so(site):
    report = run(site, csv_bytes(CHINESE, "gbk"))
    assert report.source == "CSV, GB18030" and report.imported == 2
    assert set(customers(site)) == {"甲公司", "乙个人"}


def test_text_in_no_known_encoding_is_refused_rather_than_guessed():
    with pytest.raises(ImportRefused, match="neither UTF-8 nor GB18030"):
        read_sheet(b"name\ncaf\xe9 \xff\n")


def test_an_xlsx_with_date_number_and_boolean_cells(site):
    book = Workbook()
    sheet = book.active
    sheet.append(["客户名称", "Phone", "合作日期", "VIP", "Seats", "预算", "Last followed up"])
    sheet.append(["丙公司", 13800000003, datetime(2026, 3, 4), True, 7.0, 99.5, datetime(2026, 3, 4, 9, 30)])
    sheet.append([None, None, None, None, None, None, None])  # blank rows are skipped
    sheet.append(["丁公司", "13800000004", date(2026, 3, 5), "no", "3", None, None])
    buffer = io.BytesIO()
    book.save(buffer)
    report = run(site, buffer.getvalue(), mapping={"客户名称": "name"})
    assert report.source == "XLSX" and report.imported == 2 and report.rows == 2
    stored = customers(site)
    assert stored["丙公司"]["phone"] == "+8613800000003"
    assert stored["丙公司"]["custom"] == {"since": "2026-03-04", "vip": True, "seats": 7, "budget": "99.50"}
    assert stored["丙公司"]["last_followed_at"] == datetime(2026, 3, 4, 9, 30, tzinfo=timezone.utc)
    assert stored["丁公司"]["custom"] == {"since": "2026-03-05", "vip": False, "seats": 3}


def test_headers_match_names_custom_names_and_labels_in_either_language(site):
    view = site.view
    headers = ["NAME", "custom.rating", "seats", "Customer Since", "重点客户", "id", "创建时间", "Updated at"]
    columns = plan_columns(read_sheet(",".join(headers).encode()), view, view.entity("customers"))
    assert [c.key for c in columns] == ["name", "custom.rating", "custom.seats", "custom.since", "custom.vip", None, None, None]
    assert [c.how for c in columns[5:]] == ["system", "system", "system"]


# -- columns ----------------------------------------------------------------------------------


def test_an_unknown_column_is_an_error_naming_it(site):
    with pytest.raises(UnknownColumns) as caught:
        run(site, csv_bytes("名称,备注二\nA,x\n"))
    assert "B '备注二'" in str(caught.value)
    assert customers(site) == {}


def test_an_unknown_column_can_be_mapped_or_left_out(site):
    data = csv_bytes("客户名称,备注二,电话\nA,x,13800000009\n")
    assert run(site, data, mapping={"客户名称": "name", "备注二": None}).imported == 1
    assert run(site, csv_bytes("名称,备注二\nB,x\n"), ignore_unknown=True).imported == 1
    assert set(customers(site)) == {"A", "B"}


def test_a_mapping_to_no_field_or_a_missing_column_is_refused(site):
    with pytest.raises(ImportRefused, match="'nope' is not one of its fields"):
        run(site, csv_bytes("名称\nA\n"), mapping={"名称": "nope"})
    with pytest.raises(ImportRefused, match="no column 'Missing'"):
        run(site, csv_bytes("名称\nA\n"), mapping={"Missing": "name"})
    with pytest.raises(ImportRefused, match="both fill name"):
        run(site, csv_bytes("名称,Name\nA,B\n"))
    with pytest.raises(ImportRefused, match="column B has values but no header"):
        run(site, csv_bytes("名称,\nA,B\n"))
    assert run(site, csv_bytes("名称,,\nA,,\n")).imported == 1  # empty columns without a header are fine


# -- all or nothing ------------------------------------------------------------------------------

BAD_ROW = """名称,电话,席位数
好公司,13800000011,1
坏公司,not a phone,1
坏席位,,-4
另一家,13800000012,2
"""


def test_one_bad_row_stops_the_whole_import_and_is_reported(site):
    report = run(site, csv_bytes(BAD_ROW))
    assert not report.written and report.ids == []
    assert report.summary() == "nothing imported: 2 of 4 rows are invalid"
    assert report.issue_lines() == [
        "row 3, 电话: is not a phone number (digits, spaces, +, -, parentheses)",
        "row 4, 席位数: -4 is less than the minimum of 0",
    ]
    assert customers(site) == {}


def test_skip_invalid_imports_the_valid_rows(site):
    report = run(site, csv_bytes(BAD_ROW), skip_invalid=True)
    assert report.written and report.imported == 2 and report.invalid_rows == [3, 4]
    assert set(customers(site)) == {"好公司", "另一家"}


def test_a_dry_run_checks_everything_and_writes_nothing(site):
    report = run(site, csv_bytes(CHINESE), dry_run=True)
    assert report.summary() == "dry run: 2 customers would be imported, 0 duplicates skipped, 0 invalid; nothing was written"
    assert customers(site) == {}
    with site.engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(AuditEntry.entity == "customers")) == 0


def test_large_files_are_written_in_batches_and_bad_rows_still_found(site):
    lines = ["名称,电话"] + [f"Firm {i},1390000{i:04d}" for i in range(600)]
    lines[401] = "Firm 400,bad"
    lines[551] = "Firm 550,13900000003"  # the phone of row 5
    report = run(site, csv_bytes("\n".join(lines) + "\n"), skip_invalid=True)
    assert report.imported == 598 and report.invalid_rows == [402]
    assert [str(d) for d in report.duplicates] == ["row 552: duplicate of row 5"]
    assert site.records.list(SYSTEM, "customers", limit=1).total == 598


# -- duplicates --------------------------------------------------------------------------------

DUPLICATES = """名称,电话
新公司,13800000021
撞电话,13800000020
新公司,
"""


def existing(site: Any) -> int:
    return site.records.create(SYSTEM, "customers", {"name": "老客户", "phone": "13800000020"})["id"]


def test_duplicates_are_skipped_by_default_also_within_the_file(site):
    old = existing(site)
    report = run(site, csv_bytes(DUPLICATES))
    assert report.summary() == "imported 1 customer, skipped 2 duplicates, 0 invalid"
    assert report.issue_lines() == [f"row 3: duplicate of 老客户 (#{old})", "row 4: duplicate of row 2"]
    assert sorted(customers(site)) == ["新公司", "老客户"]


def test_refuse_makes_a_duplicate_an_invalid_row(site):
    old = existing(site)
    report = run(site, csv_bytes(DUPLICATES), on_duplicate="refuse")
    assert not report.written and report.invalid_rows == [3, 4]
    assert report.invalid[0].duplicate_of == (old,)
    assert sorted(customers(site)) == ["老客户"]


def test_create_imports_duplicates_with_a_warning(site):
    old = existing(site)
    report = run(site, csv_bytes(DUPLICATES), on_duplicate="create")
    assert report.imported == 3 and [d.row for d in report.duplicates] == [3, 4]
    assert report.duplicates[0].duplicate_of == (old,)
    assert len(site.records.list(SYSTEM, "customers").items) == 4


def test_the_report_counts_look_alikes_the_importer_may_not_see_without_naming_them(site):
    teams = [site.records.create(SYSTEM, "teams", {"name": name})["id"] for name in ("North", "South")]
    users = [site.records.create(SYSTEM, "users", {"email": f"{name}@example.com", "role": "sales_rep", "team_id": team}) for name, team in zip(("rep", "other"), teams)]
    rep, other = (Actor(user_id=u["id"], label=u["email"], role="sales_rep", team_id=u["team_id"]) for u in users)
    site.records.create(other, "customers", {"name": "南方茶业", "phone": "13800000020"})
    mine = site.records.create(rep, "customers", {"name": "北方茶业", "phone": "13800000021"})
    data = csv_bytes("名称,电话\n新公司,13800000020\n另一家,13800000021\n")
    report = import_rows(site, rep, "customers", read_sheet(data))
    assert report.issue_lines() == [
        "row 2: 1 similar record exists that you cannot see — ask your manager",
        f"row 3: duplicate of 北方茶业 (#{mine['id']})",
    ]
    assert report.duplicates[0].duplicate_of == () and report.duplicates[0].hidden == 1
    assert report.imported == 0 and not any("南方" in line or "other@" in line for line in report.issue_lines())


# -- limits and permissions ---------------------------------------------------------------------


def test_files_beyond_the_limits_are_refused():
    with pytest.raises(ImportRefused, match="at most 20 MB"):
        read_sheet(b"name\n" + b"x" * MAX_BYTES)
    with pytest.raises(ImportRefused, match="more than 50,000 rows"):
        read_sheet(("name\n" + "a\n" * (MAX_ROWS + 1)).encode())
    assert len(read_sheet(("name\n" + "a\n" * MAX_ROWS).encode()).rows) == MAX_ROWS


def test_old_excel_files_and_empty_files_are_refused():
    with pytest.raises(ImportRefused, match=".xls"):
        read_sheet(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100)
    with pytest.raises(ImportRefused, match="empty"):
        read_sheet(b"")


def test_someone_who_may_not_create_cannot_import(site):
    executive = site.records.create(SYSTEM, "users", {"email": "boss@example.com", "role": "executive"})
    actor = Actor(user_id=executive["id"], label="boss@example.com", role="executive")
    with pytest.raises(Forbidden):
        import_rows(site, actor, "customers", read_sheet(csv_bytes(CHINESE)))
    assert customers(site) == {}


# -- export, then import -----------------------------------------------------------------------


@pytest.mark.parametrize(("fmt", "headers"), [("csv", "names"), ("xlsx", "labels")])
def test_an_exported_file_imports_back(site, tmp_path, fmt, headers):
    from kernel import exporting

    run(site, csv_bytes(CHINESE))
    site.records.create(SYSTEM, "customers", {"name": "=公式公司", "level": "B", "last_followed_at": "2026-01-02T03:04:05Z"})
    before = customers(site)
    path = tmp_path / f"customers.{fmt}"
    exporting.export_records(site, SYSTEM, "customers", fmt, raw=True, headers=headers, locale="zh_CN").write(path)  # for re-import
    report = run(site, path.read_bytes(), on_duplicate="create")
    assert report.imported == 3 and not report.invalid
    copies = {r["id"]: r for r in site.records.list(SYSTEM, "customers", limit=100).items if r["id"] in report.ids}
    skip = {"id", "created_at", "updated_at"}
    for copy in copies.values():
        original = before[copy["name"]]
        assert {k: v for k, v in copy.items() if k not in skip} == {k: v for k, v in original.items() if k not in skip}


# -- a dry run holds no lock ----------------------------------------------------------------------


def many_rows(count: int) -> bytes:
    lines = ["名称,电话"] + [f"公司{n},138{n:08d}" for n in range(count)]
    lines[3] = "坏公司,oops"  # invalid
    lines.append("公司1,13800000001")  # a duplicate of row 3, several batches earlier
    return csv_bytes("\n".join(lines) + "\n")


def test_a_dry_run_lets_other_writers_through_and_answers_like_the_real_import(site, database_url):
    data = many_rows(600)
    stored = site.records.create(SYSTEM, "customers", {"name": "老客户", "phone": "13800000500"})
    writes: list[str] = []

    def write_elsewhere(done: int, total: int) -> None:
        """Another process writes while the dry run is half done; it must not wait for the dry run."""
        if writes:
            return
        if database_url.startswith("sqlite"):
            import sqlite3

            other = sqlite3.connect(site.engine.url.database, timeout=0.2, isolation_level=None)
            try:
                other.execute("BEGIN IMMEDIATE")
                other.execute("ROLLBACK")
                writes.append("written")
            except sqlite3.OperationalError as exc:
                writes.append(str(exc))
            finally:
                other.close()
        else:
            site.records.create(SYSTEM, "customers", {"name": "其间写入"})
            writes.append("written")

    dry = run(site, data, dry_run=True, skip_invalid=True, progress=write_elsewhere)
    assert writes == ["written"]
    assert not dry.written and customers(site).keys() <= {"老客户", "其间写入"}
    real = run(site, data, skip_invalid=True)
    assert [str(i) for i in dry.issues()] == [str(i) for i in real.issues()]
    assert dry.imported == real.imported == 598 and any(i.duplicate_of == (stored["id"],) for i in real.duplicates)
    assert any(i.duplicate_rows == (3,) for i in real.duplicates)
