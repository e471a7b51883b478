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
import binascii
import json
import os
import re
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
from .customfields import CustomField, check_definition, create_index_sql, drop_index_sql
from .db import Base
from .errors import CRMError
from .i18n import counted
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
            with conn.begin(), _private(partial) as handle, zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED) as archive:
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


def _private(path: Path) -> Any:
    """``path`` opened for writing, readable by its owner only (a backup holds password hashes)."""
    path.unlink(missing_ok=True)
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb")


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

    The whole archive is checked first (:func:`check_backup`), before anything is written:
    refused (nothing changed) when the file is not a PlugCRM backup, its revisions differ from
    the database's, a table, column, value or custom field is not what the migrations and the
    API allow, or the database holds records and ``replace`` is false. Custom-field indexes are
    rebuilt inside the same transaction, so a failure there leaves nothing restored either.
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
        listed = check_backup(archive, manifest, tables)
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
                _rebuild_indexes(site, conn, indexed_before, _indexed_fields(conn))
        except (zipfile.BadZipFile, ValueError, TypeError, KeyError, UnicodeDecodeError) as exc:
            raise BackupRefused(f"the backup is damaged ({exc}); nothing was restored") from None
        except sa.exc.StatementError as exc:
            reason = str(exc.orig or exc).strip().splitlines()[0]
            raise BackupRefused(f"the backup could not be restored ({reason}); nothing was restored") from None
    site.forget()
    site.refresh(force=True)
    search.index_missing(site)
    return Summary(rows, len(tables))


# -- checking a backup before restoring it ------------------------------------------------------

_ENTITY_NAME = re.compile(r"^[a-z][a-z0-9_]{0,79}$")


def check_backup(archive: zipfile.ZipFile, manifest: dict[str, Any], tables: list[sa.Table]) -> dict[str, dict[str, Any]]:
    """Read the whole archive once and refuse it unless every table is one the migrations built,
    every row has only that table's columns with values of their types, the row counts match the
    manifest, and every custom field passes the API's checks. Returns the manifest's tables by name."""
    listed: dict[str, dict[str, Any]] = {}
    for entry in manifest["tables"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or not isinstance(entry.get("rows"), int):
            raise BackupRefused("the backup's manifest lists a table without a name or a row count; nothing was restored")
        listed[entry["name"]] = entry
    known = {table.name: table for table in tables}
    stray = sorted(set(listed) - set(known))
    if stray:
        raise BackupRefused(f"the backup holds table {stray[0]!r}, which this database does not have; nothing was restored")
    absent = sorted(set(known) - set(listed))
    if absent:
        raise BackupRefused(f"the backup has no table {absent[0]}; nothing was restored")
    for name, table in known.items():
        columns = listed[name].get("columns", [])
        if not isinstance(columns, list) or not set(columns) <= set(table.c.keys()):
            raise BackupRefused(f"the backup's table {name} has columns this database does not have; nothing was restored")
        try:
            count = sum(1 for line in _lines(archive, name) if _checked_row(table, line) is not None)
            if count != listed[name]["rows"]:
                raise ValueError(f"table {name} has {count} rows, its manifest says {listed[name]['rows']}")
        except (KeyError, zipfile.BadZipFile, UnicodeDecodeError, ValueError) as exc:
            raise BackupRefused(f"the backup is damaged ({exc}); nothing was restored") from None
    return listed


def _checked_row(table: sa.Table, line: Any) -> dict[str, Any]:
    """One row of ``table`` as the database will get it; ValueError when it does not fit."""
    if not isinstance(line, dict) or not set(line) <= set(table.c.keys()):
        raise ValueError(f"table {table.name}: a row has columns this database does not have")
    row = {}
    for column in table.columns:
        if column.name not in line:
            if not column.nullable and column.default is None and column.server_default is None and column.autoincrement is not True:
                raise ValueError(f"table {table.name}: a row has no {column.name}")
            continue
        row[column.name] = _checked_value(table, column, line[column.name])
    if table.name == CustomFieldDef.__tablename__:
        _check_custom_field(row)
    return row


def _checked_value(table: sa.Table, column: sa.Column[Any], value: Any) -> Any:
    where = f"table {table.name}, column {column.name}"
    kind = _kind(column)
    if value is None:
        if not column.nullable and kind != "json":  # JSON null is a value
            raise ValueError(f"{where}: must not be empty")
        return None
    try:
        loaded = _load(kind, value)
    except (ValueError, TypeError, binascii.Error):
        raise ValueError(f"{where}: {str(value)[:40]!r} is not a {kind} value") from None
    if kind != "plain":
        return loaded
    try:
        python = column.type.python_type
    except NotImplementedError:
        return loaded
    if python is bool and not isinstance(loaded, bool):
        raise ValueError(f"{where}: must be true or false")
    if python is int and (isinstance(loaded, bool) or not isinstance(loaded, int) or not -(2**63) <= loaded < 2**63):
        raise ValueError(f"{where}: must be a whole number")
    if python is float and (isinstance(loaded, bool) or not isinstance(loaded, int | float)):
        raise ValueError(f"{where}: must be a number")
    if python is str:
        if not isinstance(loaded, str) or "\x00" in loaded:
            raise ValueError(f"{where}: must be text")
        length = getattr(column.type, "length", None)
        if length is not None and len(loaded) > length:
            raise ValueError(f"{where}: is longer than {length} characters")
    return loaded


def _check_custom_field(row: dict[str, Any]) -> None:
    """A custom field's definition goes through the API's checks: its name reaches SQL (its index)."""
    entity, name = row.get("entity"), row.get("name")
    if not isinstance(entity, str) or not _ENTITY_NAME.match(entity):
        raise ValueError(f"custom field {name!r}: {str(entity)[:40]!r} is not an entity name")
    try:
        check_definition(name, row.get("schema"))
    except CRMError as exc:
        detail = exc.details[0] if getattr(exc, "details", None) else {}
        where = ".".join(str(p) for p in detail.get("loc", []))
        raise ValueError(f"custom field {str(name)[:40]!r} of {entity}: {where} {detail.get('msg', exc)}".strip()) from None


def _records_held(site: Site, conn: sa.Connection) -> str:
    """``"3 users, 1 note"``: the records already stored (built-in roles do not count)."""
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
            counts.append(counted(count, entity.unit))
    return ", ".join(counts)


def _empty(conn: sa.Connection, tables: list[sa.Table], late: dict[str, list[sa.Column[Any]]]) -> None:
    for table in tables:
        nullable = {c.name: None for c in late.get(table.name, []) if c.nullable}
        if nullable:
            conn.execute(sa.update(table).values(nullable))
    for table in reversed(tables):
        conn.execute(sa.delete(table))


def _restore_table(conn: sa.Connection, archive: zipfile.ZipFile, table: sa.Table, listed: dict[str, Any], late: list[sa.Column[Any]]) -> int:
    """Insert the table's rows; references that order cannot satisfy are set afterwards."""
    deferred = [c.name for c in late if c.nullable]
    keys = [c.name for c in table.primary_key.columns]
    count = 0
    later: list[dict[str, Any]] = []
    for batch in _batches(_lines(archive, table.name), BATCH_SIZE):
        rows = []
        for line in batch:
            row = _checked_row(table, line)
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


def _rebuild_indexes(site: Site, conn: sa.Connection, before: set[tuple[str, str, str]], after: set[tuple[str, str, str]]) -> None:
    """Inside the restore's transaction (not concurrently): drop the old custom-field indexes and
    build the restored ones; the names were checked by :func:`check_backup`."""
    view = site.view
    dialect = conn.dialect.name
    for entity, name, _ in sorted(before - after):
        if entity in view.entities:
            conn.execute(sa.text(drop_index_sql(view.entities[entity].table.name, name, dialect, concurrently=False)))
    for entity, name, schema in sorted(after):
        if entity in view.entities:
            field_ = CustomField(entity, name, json.loads(schema))
            conn.execute(sa.text(create_index_sql(view.entities[entity].table.name, field_, dialect, concurrently=False)))
