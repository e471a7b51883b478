"""``crm import``, ``crm backup`` and ``crm restore`` through click's runner, against a real database."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result

from kernel import Actor
from kernel.cli import make_cli
from kernel.models import AuditEntry
from kernel.passwords import cheap_hasher
from kernel.web.auth import login

SYSTEM = Actor.system("cli")


@pytest.fixture
def site(make_site):
    return make_site(plugins=("customers",))


def config_for(path: Path, database_url: str) -> str:
    path.write_text(f"[crm]\ndatabase_url = {json.dumps(database_url)}\nplugins = [\"customers\"]\n", encoding="utf-8")
    return str(path)


@pytest.fixture
def crm(site, tmp_path, database_url):
    default = config_for(tmp_path / "crm.toml", database_url)

    def run(*args: str, config: str | None = None) -> Result:
        return CliRunner().invoke(make_cli(password_hasher=cheap_hasher()), ["--config", config or default, *args], prog_name="crm")

    return run


def write(tmp_path: Path, text: str, name: str = "in.csv", encoding: str = "utf-8-sig") -> str:
    path = tmp_path / name
    path.write_bytes(text.replace("\n", "\r\n").encode(encoding))
    return str(path)


def names(site: Any) -> list[str]:
    return sorted(c["name"] for c in site.records.list(SYSTEM, "customers", limit=500).items)


def failed(result: Result, last: str) -> list[str]:
    """Exit code 1, the report lines on stderr, then one ``crm: error:`` line containing ``last``."""
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("crm: error: ") and last in lines[-1], result.stderr
    return lines[:-1]


# -- import ---------------------------------------------------------------------------------------


def test_import_prints_a_summary_and_lists_skipped_duplicates(crm, site, tmp_path):
    old = site.records.create(SYSTEM, "customers", {"name": "老客户", "phone": "13800000001"})
    path = write(tmp_path, "名称,电话,类型\n甲公司,13800000002,企业\n乙公司,13800000001,企业\n丙个人,,个人\n", encoding="gbk")
    result = crm("import", "customers", path)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [f"row 3: duplicate of 老客户 (#{old['id']})", "imported 2 customers, skipped 1 duplicate, 0 invalid"]
    assert f"read {path} as CSV, GB18030" in result.stderr
    assert names(site) == ["丙个人", "甲公司", "老客户"]
    with site.engine.connect() as conn:
        channels = set(conn.scalars(sa.select(AuditEntry.channel).where(AuditEntry.entity == "customers", AuditEntry.record_id != old["id"])))
    assert channels == {"import"}


def test_a_bad_row_imports_nothing_and_exits_1_with_the_report(crm, site, tmp_path):
    path = write(tmp_path, "名称,电话\n好公司,13800000011\n坏公司,oops\n")
    report = failed(crm("import", "customers", path), "nothing imported: 1 of 2 rows is invalid")
    assert report == ["row 3, 电话: is not a phone number (digits, spaces, +, -, parentheses)"]
    assert names(site) == []
    result = crm("import", "customers", path, "--skip-invalid")
    assert result.exit_code == 0 and result.stdout.splitlines()[-1] == "imported 1 customer, skipped 0 duplicates, 1 invalid"
    assert names(site) == ["好公司"]


def test_the_report_is_capped_at_50_lines(crm, tmp_path):
    path = write(tmp_path, "名称,电话\n" + "".join(f"公司{i},bad\n" for i in range(60)))
    report = failed(crm("import", "customers", path), "nothing imported: 60 of 60 rows are invalid")
    assert len(report) == 51 and report[-1] == "… and 10 more"
    skipped = failed(crm("import", "customers", path, "--skip-invalid"), "imported 0 customers, skipped 0 duplicates, 60 invalid")
    assert len(skipped) == 51


def test_unknown_columns_are_refused_unless_mapped_or_ignored(crm, site, tmp_path):
    path = write(tmp_path, "客户称呼,备注二\n甲公司,x\n")
    result = crm("import", "customers", path)
    assert failed(result, "no field matches column A '客户称呼', B '备注二'") == []
    assert "--map HEADER=FIELD or pass --ignore-unknown" in result.stderr
    result = crm("import", "customers", path, "--map", "客户称呼=name", "--ignore-unknown")
    assert result.exit_code == 0, result.output
    result = crm("import", "customers", path, "--map", "客户称呼=名称", "--map", "备注二=", "--on-duplicate", "create")
    assert result.exit_code == 0 and "1 imported row looks like a duplicate" in result.stdout
    assert names(site) == ["甲公司", "甲公司"]
    failed(crm("import", "customers", path, "--map", "nonsense"), "--map 'nonsense': write it as HEADER=FIELD")


def test_refuse_and_dry_run(crm, site, tmp_path):
    site.records.create(SYSTEM, "customers", {"name": "甲公司"})
    path = write(tmp_path, "name\n甲公司\n乙公司\n")
    failed(crm("import", "customers", path, "--on-duplicate", "refuse"), "nothing imported: 1 of 2 rows is invalid")
    result = crm("import", "customers", path, "--dry-run")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[-1] == "dry run: 1 customer would be imported, 1 duplicate skipped, 0 invalid; nothing was written"
    assert names(site) == ["甲公司"]


def test_counts_read_right_for_one_and_for_many(crm, site, tmp_path):
    """Each count takes its unit's singular or plural: the entity's labels for records, English words for the rest."""
    one = crm("import", "customers", write(tmp_path, "名称\n甲公司\n"))
    assert one.exit_code == 0, one.output
    assert one.stdout.strip() == "imported 1 customer, skipped 0 duplicates, 0 invalid"
    assert one.stderr.strip() == "import job 1: 'crm import --undo 1' removes its 1 record"
    again = crm("import", "customers", write(tmp_path, "名称\n甲公司\n乙公司\n丙公司\n"))
    assert again.stdout.splitlines() == ["row 2: duplicate of 甲公司 (#1)", "imported 2 customers, skipped 1 duplicate, 0 invalid"]
    assert again.stderr.strip() == "import job 2: 'crm import --undo 2' removes its 2 records"
    assert failed(crm("import", "customers", write(tmp_path, "名称,电话\n丁公司,bad\n")), "nothing imported: 1 of 1 row is invalid")
    assert ok_lines(crm("import", "--undo", "1")) == ["import job 1 undone: 1 record moved to the recycle bin"]
    assert ok_lines(crm("import", "--undo", "2")) == ["import job 2 undone: 2 records moved to the recycle bin"]


def ok_lines(result: Result) -> list[str]:
    assert result.exit_code == 0, result.output
    return result.stdout.splitlines()


def test_large_files_report_progress_on_stderr(crm, site, tmp_path):
    path = write(tmp_path, "名称,电话\n" + "".join(f"Firm {i},1390000{i:04d}\n" for i in range(2100)))
    result = crm("import", "customers", path)
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == ["1,000 of 2,100 rows", "2,000 of 2,100 rows", "2,100 of 2,100 rows", "import job 1: 'crm import --undo 1' removes its 2,100 records"]
    assert result.stdout.strip() == "imported 2,100 customers, skipped 0 duplicates, 0 invalid"


def test_import_refuses_missing_oversized_and_unknown_entities(crm, tmp_path):
    failed(crm("import", "customers", str(tmp_path / "none.csv")), "none.csv: No such file or directory")
    big = tmp_path / "big.csv"
    big.write_bytes(b"name\n" + b"x" * (20 * 2**20))
    failed(crm("import", "customers", str(big)), "a line of the file is longer than")  # a local file may pass 20 MB, not a cell's bound
    failed(crm("import", "gadgets", write(tmp_path, "name\nx\n")), "no entity named 'gadgets'")


def test_import_refuses_bombs_and_doctypes_in_one_line_and_obeys_the_row_setting(crm, tmp_path, database_url):
    from tests.test_filereading import with_doctype

    entities = tmp_path / "entities.xlsx"
    entities.write_bytes(with_doctype('<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'))
    failed(crm("import", "customers", str(entities)), "DOCTYPE")
    wide = tmp_path / "wide.csv"
    wide.write_bytes(b",".join(b"c%d" % i for i in range(100_000)) + b"\nx\n")
    failed(crm("import", "customers", str(wide)), "more than 500 columns")
    small = tmp_path / "small.toml"
    small.write_text(f"[crm]\ndatabase_url = {json.dumps(database_url)}\nplugins = [\"customers\"]\nimport_max_rows = 2\n", encoding="utf-8")
    result = crm("import", "customers", write(tmp_path, "name\na\nb\nc\n"), config=str(small))
    assert result.exit_code == 0, result.output  # import_max_rows bounds the web page's uploads, not a local file


# -- backup and restore ------------------------------------------------------------------------------


def test_backup_then_restore_into_a_fresh_database(crm, site, tmp_path):
    site.records.create(SYSTEM, "users", {"email": "boss@example.com", "password": "s3cret-pass", "role": "admin"})
    site.records.create(SYSTEM, "customers", {"name": "甲公司"})
    archive = tmp_path / "backup.zip"
    result = crm("backup", str(archive))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("backed up ") and result.stdout.strip().endswith(f"tables to {archive}")
    rows, tables = int(result.stdout.split()[2]), int(result.stdout.split()[5])

    other = config_for(tmp_path / "other.toml", f"sqlite:///{tmp_path / 'other.db'}")
    assert crm("db", "upgrade", config=other).exit_code == 0
    result = crm("restore", str(archive), config=other)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"restored {rows} rows into {tables} tables from {archive}", "admins now: boss@example.com (check that you know each of them)",
    ]

    again = crm("restore", str(archive), config=other)
    assert failed(again, "already holds records (1 customer, 1 user); pass --yes to replace everything") == []
    assert crm("restore", str(archive), "--yes", config=other).exit_code == 0

    from kernel.settings import Settings
    from kernel.site import Site

    restored = Site(Settings(database_url=f"sqlite:///{tmp_path / 'other.db'}", plugins=("customers",)))
    try:
        assert login(restored, "boss@example.com", "s3cret-pass").email == "boss@example.com"
        assert names(restored) == ["甲公司"]
    finally:
        restored.close()


def test_restore_refuses_what_is_not_a_backup(crm, tmp_path):
    path = write(tmp_path, "name\nx\n")
    assert failed(crm("restore", path), "not a PlugCRM backup") == []
