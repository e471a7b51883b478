"""The export service: the rows a user may see, as CSV or XLSX, in batches, audited."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import openpyxl
import pytest
import sqlalchemy as sa

from kernel import Actor, NotFound, ValidationError, exporting, fielddefs
from kernel.models import AuditEntry
from tests.example import plugin as notes_plugin

ADMIN = Actor.system("cli")


@pytest.fixture
def site(make_site):
    site = make_site(notes_plugin, default_locale="en")
    fielddefs.add_field(site, ADMIN, "notes", "rating", {"type": "string", "enum": ["hot", "warm", "cold"]}, label={"en": "Rating", "zh_CN": "评级"})
    fielddefs.add_field(
        site, ADMIN, "notes", "tags", {"type": "array", "items": {"type": "string", "enum": ["vip", "new", "old"]}, "uniqueItems": True},
        label={"en": "Tags", "zh_CN": "标签"},
    )
    return site


def people(site):
    rep = site.records.create(ADMIN, "users", {"email": "rep@example.com", "password": "s3cret-pass", "role": "sales_rep"})
    other = site.records.create(ADMIN, "users", {"email": "other@example.com", "password": "s3cret-pass", "role": "sales_rep"})
    as_rep = Actor(user_id=rep["id"], label=rep["email"], role="sales_rep", channel="ui")
    return rep, other, as_rep


def read_csv(data: bytes) -> list[list[str]]:
    assert data.startswith("\ufeff".encode()), "a CSV export starts with a byte-order mark"
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def export_bytes(started: exporting.Export) -> bytes:
    return b"".join(started.chunks())


def test_a_raw_csv_has_names_headers_codes_ids_utc_and_an_audit_entry(site):
    note = site.records.create(ADMIN, "notes", {
        "title": "Call ACME", "priority": 2, "due": "2026-03-01", "owner_id": 7,
        "touched_at": datetime(2026, 1, 5, 17, 30, tzinfo=timezone.utc), "custom": {"rating": "hot", "tags": ["vip", "new"]},
    })
    site.records.create(ADMIN, "notes", {"title": "Someday", "custom": {"rating": "cold"}})
    started = exporting.export_records(site, ADMIN, "notes", "csv", filters={"rating": "hot"}, raw=True)
    assert started.count == 1 and started.filename == "notes-2026-01-05.csv" and started.media_type.startswith("text/csv")
    rows = read_csv(export_bytes(started))
    assert rows[0] == ["id", "title", "body", "priority", "status", "due", "owner_id", "touched_at", "custom.rating", "custom.tags", "created_at", "updated_at"]
    assert rows[1:] == [[
        str(note["id"]), "Call ACME", "", "2", "open", "2026-03-01", "7", "2026-01-05T17:30:00Z", "hot", "vip; new",
        "2026-01-05T09:00:00Z", "2026-01-05T09:00:00Z",
    ]]
    with site.engine.connect() as conn:
        entry = conn.execute(sa.select(AuditEntry).where(AuditEntry.action == "export")).one()
    assert (entry.entity, entry.record_id, entry.channel) == ("notes", None, "cli")
    assert entry.changes["count"] == 1 and entry.changes["format"] == "csv" and entry.changes["filters"] == {"rating": "hot"}
    assert entry.changes["raw"] is True


def test_labels_headers_follow_the_language(site):
    site.records.create(ADMIN, "notes", {"title": "x"})
    english = exporting.export_records(site, ADMIN, "notes", "csv", headers="labels", locale="en").headers
    chinese = exporting.export_records(site, ADMIN, "notes", "csv", headers="labels", locale="zh_CN").headers
    assert english[:2] == ["ID", "Title"] and english[-4:] == ["Rating", "Tags", "Created at", "Updated at"]
    assert chinese[:2] == ["编号", "标题"] and chinese[-4:] == ["评级", "标签", "创建时间", "更新时间"]


def test_xlsx_reads_back_with_openpyxl_and_keeps_formulas_as_text(site, tmp_path):
    site.records.create(ADMIN, "notes", {"title": "=HYPERLINK(\"http://evil\")", "priority": 5, "due": "2026-03-01", "custom": {"tags": ["old"]}})
    started = exporting.export_records(site, ADMIN, "notes", "xlsx", headers="labels", locale="en")
    path = tmp_path / "notes.xlsx"
    assert started.write(path) == 1
    sheet = openpyxl.load_workbook(path).active
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert rows[0][:4] == ["ID", "Title", "Body", "Priority"]
    assert rows[1][1] == '=HYPERLINK("http://evil")' and sheet.cell(2, 2).data_type == "s"
    assert rows[1][3] == 5 and rows[1][5] == datetime(2026, 3, 1)  # a number and a date cell
    assert rows[1][rows[0].index("Tags")] == "old"


def test_csv_defuses_formulas_but_keeps_phone_numbers(site):
    site.records.create_many(ADMIN, "notes", [{"title": "=1+2"}, {"title": "+86 138-0013-8000"}, {"title": "@SUM(A1)"}, {"title": "-12.5"}])
    titles = [row[1] for row in read_csv(export_bytes(exporting.export_records(site, ADMIN, "notes", "csv")))[1:]]
    assert titles == ["'=1+2", "+86 138-0013-8000", "'@SUM(A1)", "-12.5"]


@pytest.mark.parametrize("sort", [None, "-priority", "title"])
def test_every_row_arrives_across_batches_in_order(site, monkeypatch, sort):
    monkeypatch.setattr(exporting, "BATCH_SIZE", 2)
    site.records.create_many(ADMIN, "notes", [{"title": f"n{i}", "priority": 1 + i % 5} for i in range(7)])
    expected = [r["title"] for r in site.records.list(ADMIN, "notes", sort=sort, limit=50).items]
    started = exporting.export_records(site, ADMIN, "notes", "csv", sort=sort)
    rows = read_csv(export_bytes(started))[1:]
    assert [row[1] for row in rows] == expected and len(rows) == 7 == started.written == started.count


def test_record_rules_apply_and_ids_pick_records(site):
    rep, other, as_rep = people(site)
    mine = site.records.create_many(ADMIN, "notes", [{"title": "mine 1", "owner_id": rep["id"]}, {"title": "mine 2", "owner_id": rep["id"]}])
    theirs = site.records.create(ADMIN, "notes", {"title": "theirs", "owner_id": other["id"]})
    everything = read_csv(export_bytes(exporting.export_records(site, as_rep, "notes", "csv")))
    assert [row[1] for row in everything[1:]] == ["mine 1", "mine 2"]
    picked = exporting.export_records(site, as_rep, "notes", "csv", ids=[mine[1], theirs["id"]])
    assert picked.count == 1 and [row[1] for row in read_csv(export_bytes(picked))[1:]] == ["mine 2"]


def test_refuses_unknown_format_entity_and_filter(site):
    with pytest.raises(ValidationError, match="csv or xlsx"):
        exporting.export_records(site, ADMIN, "notes", "pdf")
    with pytest.raises(NotFound):
        exporting.export_records(site, ADMIN, "nothing", "csv")
    with pytest.raises(ValidationError, match="unknown field 'colour'"):
        exporting.export_records(site, ADMIN, "notes", "csv", filters={"colour": "red"})
    with site.engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(AuditEntry.action == "export")) == 0


def test_empty_export_is_the_header_alone_and_passwords_never_appear(site):
    rows = read_csv(export_bytes(exporting.export_records(site, ADMIN, "notes", "csv", filters={"rating": "warm"})))
    assert len(rows) == 1
    site.records.create(ADMIN, "users", {"email": "a@example.com", "password": "s3cret-pass", "role": "admin"})
    users = read_csv(export_bytes(exporting.export_records(site, ADMIN, "users", "csv", raw=True)))
    assert "password" not in users[0] and "password_hash" not in users[0] and "email" in users[0]
    assert not any("$" in cell for cell in users[1])
    assert date.fromisoformat(users[1][-1][:10]) == date(2026, 1, 5)


# -- exports people read (issue 16, observation 3) ------------------------------------------------


def readable_site(site):
    """A note with a choice, a yes/no, an amount, a moment, a user and another note referenced."""
    fielddefs.add_field(site, ADMIN, "notes", "stage", {"type": "string", "enum": ["won", "lost"], "x-labels": {
        "won": {"en": "Won", "zh_CN": "赢单"}, "lost": {"en": "Lost", "zh_CN": "输单"}}}, label={"en": "Stage", "zh_CN": "阶段"})
    fielddefs.add_field(site, ADMIN, "notes", "signed", {"type": "boolean"}, label={"en": "Signed", "zh_CN": "已签约"})
    fielddefs.add_field(site, ADMIN, "notes", "budget", {"type": "number", "format": "money", "x-currency": "USD"}, label={"en": "Budget", "zh_CN": "预算"})
    fielddefs.add_field(site, ADMIN, "notes", "met_at", {"type": "string", "format": "date-time"}, label={"en": "Met at", "zh_CN": "会面时间"})
    fielddefs.add_field(site, ADMIN, "notes", "follows", {"type": "integer", "format": "reference", "x-entity": "notes"}, label={"en": "Follows", "zh_CN": "接续"})
    owner = site.records.create(ADMIN, "users", {"email": "li.na@example.com", "name": "李娜", "password": "s3cret-pass", "role": "sales_rep"})
    first = site.records.create(ADMIN, "notes", {"title": "Kick-off"})
    site.records.create(ADMIN, "notes", {
        "title": "Deal", "owner_id": owner["id"], "due": "2026-03-01", "touched_at": datetime(2026, 1, 5, 17, 30, tzinfo=timezone.utc),
        "custom": {"rating": "hot", "tags": ["vip", "new"], "stage": "won", "signed": True, "budget": "12345.5",
                   "met_at": "2026-01-04T23:15:00Z", "follows": first["id"]},
    })
    return owner


@pytest.mark.parametrize(("locale", "words"), [
    ("zh_CN", {"owner": "负责人", "stage": "阶段", "signed": "已签约", "budget": "预算 (USD)", "yes": "是", "no": "否", "won": "赢单", "created": "创建时间"}),
    ("en", {"owner": "Owner", "stage": "Stage", "signed": "Signed", "budget": "Budget (USD)", "yes": "Yes", "no": "No", "won": "Won", "created": "Created at"}),
])
def test_an_export_reads_as_labels_names_local_times_yes_no_and_amounts(site, locale, words):
    readable_site(site)
    site.records.create(ADMIN, "notes", {"title": "Lost one", "custom": {"signed": False}})
    started = exporting.export_records(site, ADMIN, "notes", "csv", sort="id", locale=locale)
    header, *rows = read_csv(export_bytes(started))
    assert words["owner"] in header and words["stage"] in header and words["budget"] in header and header[-2] == words["created"]
    deal = dict(zip(header, rows[1]))
    assert deal[words["owner"]] == "李娜"  # not the owner's id
    assert deal[words["stage"]] == words["won"] and deal[words["signed"]] == words["yes"]  # not "won", "true"
    assert deal[words["budget"]] == "12345.50"  # a number, its currency in the header
    assert rows[2][header.index(words["signed"])] == words["no"]
    follows = header.index("接续" if locale == "zh_CN" else "Follows")
    assert deal[header[follows]] == "Kick-off"  # a reference to another record: its title
    assert deal[header[header.index(words["created"])]] == "2026-01-05 17:00"  # 09:00 UTC in Asia/Shanghai
    assert "2026-01-06 01:30" in rows[1] and "2026-01-05 07:15" in rows[1]  # a built-in and a custom moment, local
    assert not any("T" in cell and cell.endswith("Z") for row in rows for cell in row)  # no ISO UTC left


def test_the_readers_time_zone_is_used(site):
    readable_site(site)
    started = exporting.export_records(site, ADMIN, "notes", "csv", sort="id", locale="en", tz=ZoneInfo("America/New_York"))
    header, _, deal = read_csv(export_bytes(started))
    assert deal[header.index("Touched at")] == "2026-01-05 12:30" and deal[header.index("Met at")] == "2026-01-04 18:15"


def test_a_readable_xlsx_keeps_numbers_and_times_as_cells(site, tmp_path):
    readable_site(site)
    path = tmp_path / "notes.xlsx"
    started = exporting.export_records(site, ADMIN, "notes", "xlsx", sort="id", locale="zh_CN")
    started.write(path)
    sheet = openpyxl.load_workbook(path).active
    header = [cell.value for cell in sheet[1]]
    budget = sheet.cell(3, header.index("预算 (USD)") + 1)
    assert budget.value == 12345.5 and budget.number_format == '#,##0.00 "USD"'
    touched = sheet.cell(3, [column.key for column in started.columns].index("touched_at") + 1)
    assert touched.value == datetime(2026, 1, 6, 1, 30) and touched.number_format == "yyyy-mm-dd hh:mm"
    assert sheet.cell(3, header.index("负责人") + 1).value == "李娜" and sheet.cell(3, header.index("已签约") + 1).value == "是"


def test_raw_keeps_codes_ids_and_utc_for_reimport(site):
    owner = readable_site(site)
    header, _, deal = read_csv(export_bytes(exporting.export_records(site, ADMIN, "notes", "csv", sort="id", raw=True)))
    row = dict(zip(header, deal))
    assert row["owner_id"] == str(owner["id"]) and row["custom.stage"] == "won" and row["custom.signed"] == "true"
    assert row["touched_at"] == "2026-01-05T17:30:00Z" and row["custom.met_at"].startswith("2026-01-04T23:15:00")
    assert float(row["custom.budget"]) == 12345.5 and row["title"] == "Deal"


def test_references_are_named_in_one_query_per_batch_and_entity(site, monkeypatch):
    readable_site(site)
    monkeypatch.setattr(exporting, "BATCH_SIZE", 50)
    owner_ids = [site.records.create(ADMIN, "users", {"email": f"u{i}@example.com", "name": f"用户{i}", "role": "sales_rep"})["id"] for i in range(5)]
    site.records.create_many(ADMIN, "notes", [{"title": f"n{i}", "owner_id": owner_ids[i % 5]} for i in range(40)])
    statements: list[str] = []
    sa.event.listen(site.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    rows = read_csv(export_bytes(exporting.export_records(site, ADMIN, "notes", "csv", sort="id", locale="en")))
    assert {row[rows[0].index("Owner")] for row in rows[-40:]} == {f"用户{i}" for i in range(5)}
    user_reads = [s for s in statements if "users" in s.lower() and "notes_notes" not in s.lower() and s.lstrip().upper().startswith("SELECT")]
    assert 1 <= len(user_reads) <= 2, user_reads  # one per batch (and no more per row)


def test_the_formula_guard_applies_to_names_and_labels(site):
    owner = site.records.create(ADMIN, "users", {"email": "evil@example.com", "name": "=HYPERLINK(\"x\")", "role": "sales_rep"})
    site.records.create(ADMIN, "notes", {"title": "t", "owner_id": owner["id"]})
    header, row = read_csv(export_bytes(exporting.export_records(site, ADMIN, "notes", "csv", locale="en")))
    assert row[header.index("Owner")] == "'=HYPERLINK(\"x\")"

