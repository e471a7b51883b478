"""Backups and restores through :mod:`kernel.backup`: every table, across databases, all or nothing."""

from __future__ import annotations

import json
import uuid
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory

from kernel import Actor, fielddefs, migrations
from kernel.backup import BackupRefused, branch_revisions, owned_tables, restore_backup, write_backup
from kernel.customfields import index_name
from kernel.models import Version
from kernel.passwords import cheap_hasher
from kernel.settings import Settings
from kernel.site import Site
from kernel.testing import postgres_url
from kernel.web.auth import login

SYSTEM = Actor.system("cli")
PASSWORD = "s3cret-pass"


@pytest.fixture
def new_site(tmp_path: Path, clock: Any) -> Iterator[Callable[[str], Site]]:
    """``new_site("sqlite")`` / ``new_site("postgresql")``: a migrated site with customers on a fresh database."""
    made: list[tuple[Site, Callable[[], None]]] = []

    def build(kind: str) -> Site:
        if kind == "postgresql":
            base = postgres_url()
            assert base is not None, "a PostgreSQL site needs CRM_TEST_DATABASE_URL"
            schema = f"t_{uuid.uuid4().hex[:12]}"
            admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
            url = sa.make_url(base).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)

            def drop() -> None:
                with admin.connect() as conn:
                    conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
                admin.dispose()
        else:
            url = f"sqlite:///{tmp_path / f'crm-{len(made)}.db'}"
            drop = lambda: None  # noqa: E731 - the file goes with tmp_path
        site = Site(Settings(database_url=url, plugins=("customers",), refresh_seconds=0), clock=clock)
        site.passwords = cheap_hasher()
        migrations.upgrade(site)
        made.append((site, drop))
        return site

    yield build
    for site, drop in made:
        site.close()
        drop()


def fill(site: Site) -> dict[str, Any]:
    """Users in teams (one below another), a custom role, custom fields (one indexed), customers, contacts."""
    north = site.records.create(SYSTEM, "teams", {"name": "华北"})
    site.records.create(SYSTEM, "teams", {"name": "北京", "parent_id": north["id"]})
    site.records.create(SYSTEM, "roles", {"name": "intern", "label": {"en": "Intern", "zh_CN": "实习生"}, "permissions": ["customers.read"]})
    boss = site.records.create(SYSTEM, "users", {"email": "boss@example.com", "password": PASSWORD, "role": "admin", "team_id": north["id"]})
    fielddefs.add_field(site, SYSTEM, "customers", "budget", {"type": "number", "format": "money"}, label={"en": "Budget", "zh_CN": "预算"}, indexed=True)
    fielddefs.add_field(site, SYSTEM, "customers", "channels", {"type": "array", "items": {"type": "string", "enum": ["web", "shop"]}})
    acme = site.records.create(SYSTEM, "customers", {"name": "ACME 有限公司", "phone": "13800000001", "tags": ["vip"], "last_followed_at": "2026-01-02T03:04:05.123456Z", "custom": {"budget": 1234.56, "channels": ["web"]}})
    site.records.create(SYSTEM, "contacts", {"customer_id": acme["id"], "name": "李雷", "birthday": "1990-05-06"})
    site.records.update(SYSTEM, "customers", acme["id"], {"churn_flag": True})
    return {"boss": boss, "acme": acme}


def snapshot(site: Site) -> dict[str, list[dict[str, Any]]]:
    """Every owned table's rows (kernel_versions aside: restoring bumps them)."""
    with site.engine.connect() as conn:
        tables = owned_tables(site, conn, branch_revisions(site, conn))
        return {
            t.name: [dict(row._mapping) for row in conn.execute(sa.select(t).order_by(*t.primary_key.columns))]
            for t in tables
            if t.name != Version.__tablename__
        }


def index_names(site: Site) -> set[str]:
    query = "SELECT indexname FROM pg_indexes" if site.engine.dialect.name == "postgresql" else "SELECT name FROM sqlite_master WHERE type = 'index'"
    with site.engine.connect() as conn:
        return set(conn.scalars(sa.text(query)))


def versions(site: Site) -> dict[str, int]:
    with site.engine.connect() as conn:
        return {row.name: row.value for row in conn.execute(sa.select(Version.name, Version.value))}


#: Restores between databases: SQLite to SQLite always; across to PostgreSQL and back in the run
#: that has one (``CRM_TEST_DATABASE_URL``), so no run skips a test it was asked to run.
DIRECTIONS = [("sqlite", "sqlite")] + ([("sqlite", "postgresql"), ("postgresql", "sqlite")] if postgres_url() else [])


@pytest.mark.parametrize(("source_kind", "target_kind"), DIRECTIONS)
def test_a_backup_restores_every_row_into_another_database(new_site, tmp_path, source_kind, target_kind):
    source = new_site(source_kind)
    made = fill(source)
    path = tmp_path / "crm-backup.zip"
    summary = write_backup(source, path)
    before = snapshot(source)
    assert summary.tables == len(before) + 1 and summary.rows == sum(map(len, before.values())) + len(versions(source))
    assert {"kernel_users", "kernel_audit", "kernel_custom_fields", "customers_customers", "customers_contacts"} <= set(before)

    target = new_site(target_kind)
    old_versions = versions(target)
    restored = restore_backup(target, path)
    assert restored == summary
    assert snapshot(target) == before
    assert all(versions(target)[name] > max(old_versions.get(name, 0), value) for name, value in versions(source).items())

    assert login(target, "boss@example.com", PASSWORD).id == made["boss"]["id"]
    assert target.view.fields("customers")["budget"].kind == "money"
    table = target.view.entity("customers").table.name
    assert index_name(table, "budget") in index_names(target)
    later = target.records.create(SYSTEM, "customers", {"name": "新客户"})
    assert later["id"] > made["acme"]["id"]  # ids continue after the restored ones
    assert target.records.list(SYSTEM, "customers", filters={"budget__gte": 1000}).total == 1


def test_the_archive_is_a_zip_with_a_manifest_and_one_json_lines_file_per_table(new_site, tmp_path):
    site = new_site("sqlite")
    fill(site)
    path = tmp_path / "b.zip"
    write_backup(site, path)
    with zipfile.ZipFile(path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        assert manifest["format"] == "plugcrm-backup" and manifest["format_version"] == 1
        assert set(manifest["revisions"]) == {"core", "customers"}
        listed = {t["name"]: t["rows"] for t in manifest["tables"]}
        assert listed["customers_customers"] == 1
        rows = [json.loads(line) for line in archive.read("tables/customers_customers.jsonl").splitlines()]
    assert rows[0]["name"] == "ACME 有限公司" and rows[0]["custom"] == {"budget": "1234.56", "channels": ["web"]}
    assert rows[0]["last_followed_at"] == "2026-01-02T03:04:05.123456+00:00"


# -- refusals: one line, nothing changed ------------------------------------------------------------


@pytest.fixture
def pair(new_site, tmp_path):
    """A backup of a filled site, and a second site that already holds a user."""
    source = new_site("sqlite")
    fill(source)
    path = tmp_path / "b.zip"
    write_backup(source, path)
    target = new_site("postgresql" if postgres_url() else "sqlite")
    target.records.create(SYSTEM, "users", {"email": "keep@example.com", "password": PASSWORD, "role": "admin"})
    return path, target


def rewrite(path: Path, target: Path, change: Callable[[str, bytes], bytes | None]) -> Path:
    with zipfile.ZipFile(path) as old, zipfile.ZipFile(target, "w") as new:
        for item in old.infolist():
            data = change(item.filename, old.read(item.filename))
            if data is not None:
                new.writestr(item.filename, data)
    return target


def refused(target: Site, path: Path, *fragments: str, replace: bool = True) -> None:
    before = snapshot(target)
    with pytest.raises(BackupRefused) as caught:
        restore_backup(target, path, replace=replace)
    message = str(caught.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message
    assert snapshot(target) == before


def test_a_database_with_records_is_replaced_only_when_asked(pair):
    path, target = pair
    refused(target, path, "already holds records (1 user)", "--yes", replace=False)
    restore_backup(target, path, replace=True)
    emails = {u["email"] for u in target.records.list(SYSTEM, "users").items}
    assert emails == {"boss@example.com"}


def test_foreign_and_broken_files_are_refused(pair, tmp_path):
    path, target = pair
    other = tmp_path / "notes.txt"
    other.write_text("hello")
    refused(target, other, "not a PlugCRM backup")
    refused(target, tmp_path / "missing.zip", "no such file")
    refused(target, rewrite(path, tmp_path / "no-manifest.zip", lambda n, d: None if n == "manifest.json" else d), "not a PlugCRM backup")
    foreign = rewrite(path, tmp_path / "foreign.zip", lambda n, d: json.dumps({"format": "other"}).encode() if n == "manifest.json" else d)
    refused(target, foreign, "not a PlugCRM backup")


def test_a_damaged_table_rolls_the_whole_restore_back(pair, tmp_path):
    path, target = pair

    def cut(name: str, data: bytes) -> bytes:
        return b"".join(data.splitlines(keepends=True)[:-1]) if name == "tables/kernel_audit.jsonl" else data

    refused(target, rewrite(path, tmp_path / "cut.zip", cut), "damaged", "kernel_audit")
    broken = rewrite(path, tmp_path / "broken.zip", lambda n, d: b"{not json" if n == "tables/customers_contacts.jsonl" else d)
    refused(target, broken, "damaged")


def test_revisions_must_match(pair, tmp_path):
    path, target = pair

    def revisions(**changes: str) -> Callable[[str, bytes], bytes]:
        def change(name: str, data: bytes) -> bytes:
            if name != "manifest.json":
                return data
            manifest = json.loads(data)
            manifest["revisions"].update(changes)
            return json.dumps(manifest).encode()

        return change

    refused(target, rewrite(path, tmp_path / "newer.zip", revisions(core="ffffffffffff")), "newer version")
    with target.engine.connect() as conn:
        current = branch_revisions(target, conn)["core"]
        script = ScriptDirectory.from_config(migrations.alembic_config(target, conn))
        previous = script.get_revision(current).down_revision
    refused(target, rewrite(path, tmp_path / "older.zip", revisions(core=previous)), "older version")

    with target.engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = :old WHERE version_num = :new"), {"old": previous, "new": current})
    refused(target, path, "run 'crm db upgrade'")


# -- a crafted backup: checked whole before anything is written ----------------------------------------


def edit_rows(table: str, change: Callable[[list[dict[str, Any]]], list[dict[str, Any]]]) -> Callable[[str, bytes], bytes]:
    """A rewrite step that changes one table's rows (and keeps the manifest's row count true)."""
    counts: dict[str, int] = {}

    def step(name: str, data: bytes) -> bytes:
        if name == f"tables/{table}.jsonl":
            rows = change([json.loads(line) for line in data.splitlines() if line.strip()])
            counts[table] = len(rows)
            return b"".join(json.dumps(r, ensure_ascii=False).encode() + b"\n" for r in rows)
        if name == "manifest.json":
            return data  # fixed below, once the table has been rewritten
        return data

    step.counts = counts  # type: ignore[attr-defined]
    return step


def crafted(path: Path, target: Path, table: str, change: Callable[[list[dict[str, Any]]], list[dict[str, Any]]]) -> Path:
    step = edit_rows(table, change)
    rewrite(path, target, step)
    fixed = target.with_name("fixed-" + target.name)

    def manifest(name: str, data: bytes) -> bytes:
        if name != "manifest.json":
            return data
        content = json.loads(data)
        for entry in content["tables"]:
            if entry["name"] in step.counts:  # type: ignore[attr-defined]
                entry["rows"] = step.counts[entry["name"]]  # type: ignore[attr-defined]
        return json.dumps(content).encode()

    return rewrite(target, fixed, manifest)


def test_a_custom_field_name_cannot_inject_sql_into_the_index_rebuild(pair, tmp_path):
    path, target = pair
    evil = "x') IS NULL; DROP TABLE kernel_users; --"

    def rename(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{**r, "name": evil} if r["name"] == "budget" else r for r in rows]

    refused(target, crafted(path, tmp_path / "evil.zip", "kernel_custom_fields", rename), "custom field", "must start with a-z")
    assert login(target, "keep@example.com", PASSWORD) is not None


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (lambda r: {**r, "email": "x" * 300 + "@example.com"}, "longer than 254"),
        (lambda r: {**r, "active": "yes"}, "true or false"),
        (lambda r: {**r, "id": "1; DROP TABLE kernel_users"}, "whole number"),
        (lambda r: {**r, "surprise": 1}, "columns this database does not have"),
        (lambda r: {k: v for k, v in r.items() if k != "email"}, "has no email"),
    ],
)
def test_rows_that_do_not_fit_their_columns_are_refused_before_writing(pair, tmp_path, change, fragment):
    path, target = pair
    refused(target, crafted(path, tmp_path / "bad.zip", "kernel_users", lambda rows: [change(r) for r in rows]), "damaged", fragment)


def test_an_index_that_fails_to_build_leaves_nothing_restored(pair, tmp_path, monkeypatch):
    path, target = pair
    import kernel.backup

    monkeypatch.setattr(kernel.backup, "create_index_sql", lambda *a, **k: "CREATE INDEX broken ON no_such_table (x)")
    refused(target, path, "nothing was restored")


def test_backups_are_readable_by_their_owner_only(new_site, tmp_path):
    site = new_site("sqlite")
    fill(site)
    path = tmp_path / "b.zip"
    path.write_bytes(b"old")
    path.chmod(0o644)
    write_backup(site, path)
    assert path.stat().st_mode & 0o777 == 0o600
