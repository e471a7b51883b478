"""The export service: the rows a user may see, as CSV or XLSX, in batches, audited."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timezone

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


def test_csv_has_names_headers_plain_values_and_an_audit_entry(site):
    note = site.records.create(ADMIN, "notes", {
        "title": "Call ACME", "priority": 2, "due": "2026-03-01", "owner_id": 7,
        "touched_at": datetime(2026, 1, 5, 17, 30, tzinfo=timezone.utc), "custom": {"rating": "hot", "tags": ["vip", "new"]},
    })
    site.records.create(ADMIN, "notes", {"title": "Someday", "custom": {"rating": "cold"}})
    started = exporting.export_records(site, ADMIN, "notes", "csv", filters={"rating": "hot"})
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
    users = read_csv(export_bytes(exporting.export_records(site, ADMIN, "users", "csv")))
    assert "password" not in users[0] and "password_hash" not in users[0] and "email" in users[0]
    assert not any("$" in cell for cell in users[1])
    assert date.fromisoformat(users[1][-1][:10]) == date(2026, 1, 5)
