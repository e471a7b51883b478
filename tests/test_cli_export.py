"""``crm export ENTITY -o FILE``: the whole entity, or a filtered part, to CSV or XLSX."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result

from kernel import Actor, fielddefs
from kernel.cli import make_cli
from kernel.models import AuditEntry
from kernel.passwords import cheap_hasher
from tests.example import plugin as notes_plugin

ADMIN = Actor.system("cli")


@pytest.fixture
def site(make_site: Any) -> Any:
    site = make_site(notes_plugin, default_locale="zh_CN")
    fielddefs.add_field(site, ADMIN, "notes", "rating", {"type": "string", "enum": ["hot", "cold"]}, label={"en": "Rating", "zh_CN": "评级"})
    site.records.create_many(ADMIN, "notes", [
        {"title": "Call ACME", "priority": 1, "custom": {"rating": "hot"}},
        {"title": "Someday", "priority": 4, "custom": {"rating": "cold"}},
        {"title": "Visit 华为", "priority": 2, "custom": {"rating": "hot"}},
    ])
    return site


@pytest.fixture
def crm(site: Any, tmp_path: Path, database_url: str) -> Any:
    config = tmp_path / "crm.toml"
    config.write_text(f'[crm]\ndatabase_url = {json.dumps(database_url)}\nplugins = ["notes"]\ndefault_locale = "zh_CN"\n', encoding="utf-8")

    def run(*args: str) -> Result:
        cli = make_cli(extra_plugins=(notes_plugin,), password_hasher=cheap_hasher())
        return CliRunner().invoke(cli, ["--config", str(config), *args], prog_name="crm")

    return run


def one_error_line(result: Result, fragment: str) -> None:
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("crm: error: ") and fragment in lines[0], result.stderr
    assert "Traceback" not in result.output


def test_raw_exports_every_record_to_csv_with_field_names(crm: Any, tmp_path: Path) -> None:
    target = tmp_path / "notes.csv"
    result = crm("export", "notes", "-o", str(target), "--raw")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"exported 3 notes to {target}"
    data = target.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(data.decode("utf-8-sig").splitlines()))
    assert rows[0][:2] == ["id", "title"] and "custom.rating" in rows[0]
    assert [row[1] for row in rows[1:]] == ["Call ACME", "Someday", "Visit 华为"]
    assert not list(tmp_path.glob("*.part"))


def test_the_count_takes_the_entity_s_singular_for_one_record(crm: Any, tmp_path: Path) -> None:
    target = tmp_path / "one.csv"
    result = crm("export", "notes", "-o", str(target), "--where", "title=Someday")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"exported 1 note to {target}"  # English, as every message of the CLI, whatever the default locale


def test_where_sort_and_labels_to_xlsx(crm: Any, site: Any, tmp_path: Path) -> None:
    target = tmp_path / "hot.xlsx"
    result = crm("export", "notes", "-o", str(target), "--where", "rating=hot", "--where", "priority__lte=2", "--sort", "-priority", "--raw", "--labels")
    assert result.exit_code == 0, result.output
    assert "exported 2 notes" in result.stdout
    rows = list(openpyxl.load_workbook(target).active.iter_rows(values_only=True))
    assert rows[0][:2] == ("编号", "标题") and "评级" in rows[0]  # the default language's labels
    assert [row[1] for row in rows[1:]] == ["Visit 华为", "Call ACME"]
    with site.engine.connect() as conn:
        entry = conn.execute(sa.select(AuditEntry).where(AuditEntry.action == "export")).one()
    assert entry.channel == "cli" and entry.changes["count"] == 2 and entry.changes["format"] == "xlsx"


def test_refuses_a_wrong_extension_an_unknown_entity_and_a_bad_filter(crm: Any, tmp_path: Path) -> None:
    one_error_line(crm("export", "notes", "-o", str(tmp_path / "notes.pdf")), ".csv or .xlsx")
    one_error_line(crm("export", "planets", "-o", str(tmp_path / "planets.csv")), "no entity named 'planets'")
    one_error_line(crm("export", "notes", "-o", str(tmp_path / "x.csv"), "--where", "colour=red"), "unknown field 'colour'")
    one_error_line(crm("export", "notes", "-o", str(tmp_path / "x.csv"), "--where", "rating"), "FIELD=VALUE")
    assert list(tmp_path.glob("*.csv")) == [] and list(tmp_path.glob("*.pdf")) == []
    assert crm("export", "notes").exit_code == 2  # -o is required


@pytest.mark.parametrize(("lang", "expected"), [
    (None, {"owner": "负责人", "hot": "热", "created": "创建时间", "signed": "已签约", "yes": "是"}),
    ("en", {"owner": "Owner", "hot": "Hot", "created": "Created at", "signed": "Signed", "yes": "Yes"}),
])
def test_an_export_is_for_people_by_default(crm: Any, site: Any, tmp_path: Path, lang: str | None, expected: dict[str, str]) -> None:
    fielddefs.add_field(site, ADMIN, "notes", "signed", {"type": "boolean"}, label={"en": "Signed", "zh_CN": "已签约"})
    fielddefs.add_field(site, ADMIN, "notes", "level", {"type": "string", "enum": ["hot", "cold"], "x-labels": {
        "hot": {"en": "Hot", "zh_CN": "热"}, "cold": {"en": "Cold", "zh_CN": "冷"}}}, label={"en": "Level", "zh_CN": "等级"})
    owner = site.records.create(ADMIN, "users", {"email": "ann@example.com", "name": "Ann Lee", "role": "sales_rep"})
    site.records.create(ADMIN, "notes", {"title": "Signed one", "owner_id": owner["id"], "custom": {"signed": True, "level": "hot"}})
    target = tmp_path / "people.csv"
    result = crm("export", "notes", "-o", str(target), "--where", "title=Signed one", *(["--lang", lang] if lang else []))
    assert result.exit_code == 0, result.output
    header, row = list(csv.reader(target.read_text(encoding="utf-8-sig").splitlines()))
    values = dict(zip(header, row))
    assert values[expected["owner"]] == "Ann Lee" and values[expected["signed"]] == expected["yes"]
    assert values["等级" if lang is None else "Level"] == expected["hot"]
    assert values[expected["created"]] == "2026-01-05 17:00"  # the site's zone, Asia/Shanghai


def test_time_zone_option(crm: Any, tmp_path: Path) -> None:
    target = tmp_path / "utc.csv"
    assert crm("export", "notes", "-o", str(target), "--time-zone", "UTC", "--lang", "en").exit_code == 0
    header, *rows = list(csv.reader(target.read_text(encoding="utf-8-sig").splitlines()))
    assert rows[0][header.index("Created at")] == "2026-01-05 09:00"
    one_error_line(crm("export", "notes", "-o", str(target), "--time-zone", "Mars/Base"), "IANA time zone")
