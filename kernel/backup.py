"""Backups: every table of the kernel and of each migrated plugin in one portable file, and back.

A backup is a zip archive::

  manifest.json        {"format": "plugcrm-backup", "format_version": 1, "created_at": ...,
                        "database": "sqlite", "revisions": {"core": REV, "PLUGIN": REV},
                        "tables": [{"name": ..., "rows": N, "columns": [...]}, ...]}
  tables/NAME.jsonl    one JSON object per row, in primary-key order

Tables are those of :data:`kernel.db.Base.metadata` (what the migrations build)
that belong to a branch applied in the database: ``kernel_*`` to the kernel,
``NAME_*`` to plugin ``NAME``. Values are JSON whatever the database: times
ISO 8601, decimals as text, JSON columns as JSON, bytes as base64; each is read
back by the column's type, so a SQLite backup restores into PostgreSQL and the
other way round. A backup reads one consistent snapshot (one read
transaction); a restore is one write transaction.
"""

from __future__ import annotations

import base64
import json
import os
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util import CommandError

from . import migrations, search
from .customfields import CustomField, create_index_sql, drop_index_sql
from .db import Base
from .errors import CRMError
from .models import CustomFieldDef, Version

if TYPE_CHECKING:
    from .site import Site

FORMAT = "plugcrm-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
BATCH_SIZE = 1000
KERNEL_PREFIX = "kernel_"


class BackupRefused(CRMError):
    """A backup or restore that cannot be done; the message says why, in one line."""


@dataclass(frozen=True)
class Summary:
    rows: int
    tables: int


# -- what belongs in a backup --------------------------------------------------------------


def branch_revisions(site: Site, conn: sa.Connection) -> dict[str, str]:
    """The revision each migration branch (``core`` and each plugin's) is at in this database."""
    script = ScriptDirectory.from_config(migrations.alembic_config(site, conn))
    found: dict[str, str] = {}
    for head in MigrationContext.configure(conn).get_current_heads():
        try:
            revision = script.get_revision(head)
        except (CommandError, RevisionError):
            raise BackupRefused(f"the database is at revision {head}, which this PlugCRM does not know; upgrade PlugCRM") from None
        for label in revision.branch_labels if revision is not None else ():
            found[label] = head
    return found


def owned_tables(site: Site, conn: sa.Connection, branches: dict[str, str]) -> list[sa.Table]:
    """The tables of the applied branches that exist in the database, parents before children."""
    prefixes = {f"{name}_": name for name in site.installed if name != migrations.KERNEL_BRANCH}
    prefixes[KERNEL_PREFIX] = migrations.KERNEL_BRANCH
    existing = set(sa.inspect(conn).get_table_names())
    owned = []
    for table in Base.metadata.sorted_tables:
        if table is search.DOCS:  # derived from the records: rebuilt after a restore, never stored
            continue
        matches = [p for p in prefixes if table.name.startswith(p)]
        owner = prefixes[max(matches, key=len)] if matches else None
        if owner in branches and table.name in existing:
            owned.append(table)
    return owned


def _late_foreign_keys(tables: list[sa.Table]) -> dict[str, list[sa.Column[Any]]]:
    """Columns whose references cannot be satisfied by table order (self references, cycles), by table."""
    late: dict[str, list[sa.Column[Any]]] = {}
    ordered = sa.schema.sort_tables_and_constraints(tables)
    cyclic = {fk for table, fkcs in ordered if table is None for fk in fkcs}
    for table in tables:
        for constraint in table.foreign_key_constraints:
            if constraint in cyclic or constraint.referred_table is table:
                late.setdefault(table.name, []).extend(constraint.columns)
    return late


# -- values -----------------------------------------------------------------------------------


def _kind(column: sa.Column[Any]) -> str:
    if isinstance(column.type, sa.JSON):
        return "json"
    try:
        python = column.type.python_type
    except NotImplementedError:
        return "plain"
    for kind, cls in (("datetime", datetime), ("date", date), ("time", time), ("decimal", Decimal), ("bytes", bytes)):
        if issubclass(python, cls):
            return kind
    return "plain"


def _dump(kind: str, value: Any) -> Any:
    if value is None or kind == "json":
        return value
    if kind in ("datetime", "date", "time"):
        return value.isoformat()
    if kind == "decimal":
        return str(value)
    if kind == "bytes":
        return base64.b64encode(value).decode("ascii")
    return value if isinstance(value, str | int | float | bool) else str(value)


def _load(kind: str, value: Any) -> Any:
    if value is None or kind in ("json", "plain"):
        return value
    if kind == "datetime":
        return datetime.fromisoformat(value)
    if kind == "date":
        return date.fromisoformat(value)
    if kind == "time":
        return time.fromisoformat(value)
    if kind == "decimal":
        return Decimal(value)
    return base64.b64decode(value)


# -- backup -----------------------------------------------------------------------------------


def write_backup(site: Site, path: str | Path) -> Summary:
    """Write every owned table to the archive ``path`` (replaced only once complete)."""
    target = Path(path)
    partial = target.with_name(target.name + ".part")
    try:
        with site.engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin(), zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                branches = branch_revisions(site, conn)
                if migrations.KERNEL_BRANCH not in branches:
                    raise BackupRefused("the database is not initialized; there is nothing to back up")
                listed = [_write_table(conn, archive, table) for table in owned_tables(site, conn, branches)]
                manifest = {
                    "format": FORMAT,
                    "format_version": FORMAT_VERSION,
                    "created_at": site.clock.now().isoformat(),
                    "plugcrm_version": _version(),
                    "database": conn.dialect.name,
                    "revisions": branches,
                    "tables": listed,
                }
                archive.writestr(MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=2))
        os.replace(partial, target)
    except OSError as exc:
        raise BackupRefused(f"{path}: {exc.strerror or exc}") from None
    finally:
        partial.unlink(missing_ok=True)
    return Summary(sum(t["rows"] for t in listed), len(listed))


def _write_table(conn: sa.Connection, archive: zipfile.ZipFile, table: sa.Table) -> dict[str, Any]:
    kinds = [(column.name, _kind(column)) for column in table.columns]
    query = sa.select(table).order_by(*table.primary_key.columns)
    count = 0
    with archive.open(f"tables/{table.name}.jsonl", "w", force_zip64=True) as handle:
        for row in conn.execution_options(yield_per=BATCH_SIZE).execute(query):
            values = row._mapping
            line = {name: _dump(kind, values[name]) for name, kind in kinds}
            handle.write(json.dumps(line, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n")
            count += 1
    return {"name": table.name, "rows": count, "columns": [name for name, _ in kinds]}


def _version() -> str | None:
    try:
        return metadata.version("plugcrm")
    except metadata.PackageNotFoundError:
        return None


# -- restore ----------------------------------------------------------------------------------


def read_manifest(archive: zipfile.ZipFile) -> dict[str, Any]:
    try:
        manifest = json.loads(archive.read(MANIFEST))
    except (KeyError, ValueError, zipfile.BadZipFile):
        raise BackupRefused("not a PlugCRM backup (no readable manifest.json)") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupRefused("not a PlugCRM backup (its manifest is not a PlugCRM one)")
    version = manifest.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise BackupRefused(f"the backup's format version {version!r} is newer than this PlugCRM reads; upgrade PlugCRM")
    if not isinstance(manifest.get("revisions"), dict) or not isinstance(manifest.get("tables"), list):
        raise BackupRefused("not a PlugCRM backup (its manifest lacks revisions or tables)")
    return manifest


def check_revisions(site: Site, conn: sa.Connection, wanted: dict[str, Any]) -> None:
    """Refuse unless the database's branches are at exactly the backup's revisions."""
    have = branch_revisions(site, conn)
    if not have:
        raise BackupRefused("the database is not initialized; run 'crm db upgrade' (or 'crm init') first")
    script = ScriptDirectory.from_config(migrations.alembic_config(site, conn))
    for branch in sorted(set(wanted) | set(have)):
        theirs, ours = wanted.get(branch), have.get(branch)
        if theirs == ours:
            continue
        if theirs is None:
            raise BackupRefused(f"the database has {branch}'s tables but the backup does not; restore into a database prepared with the backup's plugins")
        try:
            older = {r.revision for r in script.iterate_revisions(str(theirs), "base")}
        except (CommandError, RevisionError):
            raise BackupRefused(f"the backup is from a newer version ({branch} at revision {theirs}); upgrade PlugCRM first") from None
        if ours is None:
            raise BackupRefused(f"the database has no {branch} tables; enable {branch} and run 'crm db upgrade' first")
        if ours in older:
            raise BackupRefused(f"the database's {branch} tables are older than the backup's (revision {theirs}); run 'crm db upgrade' first")
        raise BackupRefused(f"the backup is from an older version ({branch} at revision {theirs}, the database at {ours}); restore it with that version")


def restore_backup(site: Site, path: str | Path, *, replace: bool = False) -> Summary:
    """Replace every owned table's rows with the backup's, in one transaction.

    Refused (nothing changed) when the file is not a PlugCRM backup, its revisions
    differ from the database's, or the database holds records and ``replace`` is false.
    """
    try:
        archive = zipfile.ZipFile(path)
    except FileNotFoundError:
        raise BackupRefused(f"{path}: no such file") from None
    except (zipfile.BadZipFile, OSError):
        raise BackupRefused(f"{path}: not a PlugCRM backup (not a zip archive)") from None
    with archive:
        manifest = read_manifest(archive)
        with site.engine.connect() as conn:
            check_revisions(site, conn, manifest["revisions"])
            tables = owned_tables(site, conn, branch_revisions(site, conn))
            held = _records_held(site, conn)
            indexed_before = _indexed_fields(conn)
        if held and not replace:
            raise BackupRefused(f"the database already holds records ({held}); pass --yes to replace everything")
        listed = {t.get("name"): t for t in manifest["tables"] if isinstance(t, dict)}
        missing = sorted(set(listed) - {t.name for t in tables})
        if missing:
            raise BackupRefused(f"the backup holds table {missing[0]}, which this database does not have")
        try:
            with site.write() as conn:
                versions = {row.name: row.value for row in conn.execute(sa.select(Version.name, Version.value))}
                late = _late_foreign_keys(tables)
                _empty(conn, tables, late)
                conn.execute(sa.delete(search.DOCS))
                rows = sum(_restore_table(conn, archive, table, listed.get(table.name), late.get(table.name, [])) for table in tables)
                _bump(conn, versions)
                if conn.dialect.name == "postgresql":
                    _reset_sequences(conn, tables)
                indexed_after = _indexed_fields(conn)
        except (zipfile.BadZipFile, ValueError, TypeError, KeyError, UnicodeDecodeError) as exc:
            raise BackupRefused(f"the backup is damaged ({exc}); nothing was restored") from None
        except sa.exc.StatementError as exc:
            reason = str(exc.orig or exc).strip().splitlines()[0]
            raise BackupRefused(f"the backup could not be restored ({reason}); nothing was restored") from None
    _rebuild_indexes(site, indexed_before, indexed_after)
    site.forget()
    site.refresh(force=True)
    search.index_missing(site)
    return Summary(rows, len(tables))


def _records_held(site: Site, conn: sa.Connection) -> str:
    """``"3 users, 12 notes"``: the records already stored (built-in roles do not count)."""
    try:
        entities = site.refresh(force=True).entities
    except CRMError:
        return ""
    counts = []
    for name, entity in sorted(entities.items()):
        if name == "roles":
            continue
        count = conn.scalar(sa.select(sa.func.count()).select_from(entity.table))
        if count:
            counts.append(f"{count} {name}")
    return ", ".join(counts)


def _empty(conn: sa.Connection, tables: list[sa.Table], late: dict[str, list[sa.Column[Any]]]) -> None:
    for table in tables:
        nullable = {c.name: None for c in late.get(table.name, []) if c.nullable}
        if nullable:
            conn.execute(sa.update(table).values(nullable))
    for table in reversed(tables):
        conn.execute(sa.delete(table))


def _restore_table(conn: sa.Connection, archive: zipfile.ZipFile, table: sa.Table, listed: dict[str, Any] | None, late: list[sa.Column[Any]]) -> int:
    """Insert the table's rows; references that order cannot satisfy are set afterwards."""
    if listed is None:
        raise KeyError(f"the backup has no table {table.name}")
    kinds = {column.name: _kind(column) for column in table.columns}
    deferred = [c.name for c in late if c.nullable]
    keys = [c.name for c in table.primary_key.columns]
    count = 0
    later: list[dict[str, Any]] = []
    for batch in _batches(_lines(archive, table.name), BATCH_SIZE):
        rows = []
        for line in batch:
            if not isinstance(line, dict) or set(line) - set(kinds):
                raise ValueError(f"table {table.name}: a row has columns this database does not have")
            row = {name: _load(kinds[name], value) for name, value in line.items()}
            if deferred and any(row.get(name) is not None for name in deferred):
                later.append({**{f"key_{k}": row[k] for k in keys}, **{f"new_{n}": row[n] for n in deferred}})
                row.update({name: None for name in deferred})
            rows.append(row)
        conn.execute(sa.insert(table), rows)
        count += len(rows)
    if count != listed.get("rows"):
        raise ValueError(f"table {table.name} has {count} rows, its manifest says {listed.get('rows')}")
    if later:
        statement = (
            sa.update(table)
            .where(*(table.c[k] == sa.bindparam(f"key_{k}") for k in keys))
            .values({n: sa.bindparam(f"new_{n}") for n in deferred})
        )
        conn.execute(statement, later)
    return count


def _lines(archive: zipfile.ZipFile, name: str) -> Iterator[Any]:
    with archive.open(f"tables/{name}.jsonl") as handle:
        for raw in handle:
            if raw.strip():
                yield json.loads(raw)


def _batches(items: Iterator[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _bump(conn: sa.Connection, before: dict[str, int]) -> None:
    """Every version row ends above both its old and its restored value, so running processes refresh."""
    restored = {row.name: row.value for row in conn.execute(sa.select(Version.name, Version.value))}
    table = Version.__table__
    for name in sorted(set(before) | set(restored)):
        value = max(before.get(name, 0), restored.get(name, 0)) + 1
        if name in restored:
            conn.execute(sa.update(table).where(table.c.name == name).values(value=value))
        else:
            conn.execute(sa.insert(table).values(name=name, value=value))


def _reset_sequences(conn: sa.Connection, tables: list[sa.Table]) -> None:
    """PostgreSQL: each id sequence continues after the highest restored id."""
    for table in tables:
        keys = list(table.primary_key.columns)
        if len(keys) != 1 or not isinstance(keys[0].type, sa.Integer):
            continue
        sequence = conn.scalar(sa.text("SELECT pg_get_serial_sequence(:table, :column)"), {"table": f'"{table.name}"', "column": keys[0].name})
        if sequence is None:
            continue
        highest = conn.scalar(sa.select(sa.func.max(keys[0])))
        conn.execute(sa.text("SELECT setval(:sequence, :value, false)"), {"sequence": sequence, "value": (highest or 0) + 1})


def _indexed_fields(conn: sa.Connection) -> set[tuple[str, str, str]]:
    defs = CustomFieldDef.__table__
    rows = conn.execute(sa.select(defs.c.entity, defs.c.name, defs.c.schema).where(defs.c.indexed.is_(True), defs.c.active.is_(True)))
    return {(row.entity, row.name, json.dumps(row.schema, sort_keys=True)) for row in rows}


def _rebuild_indexes(site: Site, before: set[tuple[str, str, str]], after: set[tuple[str, str, str]]) -> None:
    """Custom-field indexes are built outside transactions: drop the old ones, build the restored ones."""
    view = site.refresh(force=True)
    dialect = site.engine.dialect.name
    statements = []
    for entity, name, _ in sorted(before - after):
        if entity in view.entities:
            statements.append(drop_index_sql(view.entities[entity].table.name, name, dialect))
    for entity, name, schema in sorted(after):
        if entity in view.entities:
            statements.append(create_index_sql(view.entities[entity].table.name, CustomField(entity, name, json.loads(schema)), dialect))
    if statements:
        with site.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for statement in statements:
                conn.execute(sa.text(statement))
