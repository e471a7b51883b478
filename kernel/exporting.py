"""Exports: the records a user may see, as CSV or XLSX, for the UI's download and ``crm export``.

Rows are read through :meth:`Records.list_query` as the acting user, so record
rules, filters, search and sort work exactly as on the list page, in batches of
:data:`BATCH_SIZE` (by id when unsorted, else page by page), never all at once.

Columns are ``id``, the built-in fields a form or detail page shows (never a
password), the active custom fields, then ``created_at`` and ``updated_at``
(:func:`kernel.fielddescriptions.export_columns`). Headers are either ``names``
(``title``, ``custom.rating``: what an import reads back) or ``labels`` (the
fields' labels in one language). Values are plain: dates and times ISO 8601
(times in UTC), multi-select and list values joined with ``"; "``, references as
ids. CSV is UTF-8 with a byte-order mark, so Excel reads Chinese correctly;
XLSX is written by openpyxl in write-only mode.

Starting an export writes one audit entry (action ``export``, no record id,
changes ``{"count": N, "format": "csv", ...}``), so admins see who exported what.
"""

from __future__ import annotations

import csv
import io
import json
import re
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from . import audit
from .errors import NotFound, ValidationError
from .fielddescriptions import FormField, export_columns
from .i18n import plugin_locale_dirs, translations

if TYPE_CHECKING:
    from .entities import Entity
    from .records import Actor
    from .site import Site

BATCH_SIZE = 500
FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
HEADER_STYLES = ("names", "labels")
BOM = "\ufeff"
LIST_SEPARATOR = "; "
_FORMULA_START = ("=", "@", "\t", "\r")
_SIGNED_NUMBER = re.compile(r"^[+-][0-9 ().-]*$")  # "+86 138-0013-8000", "-12.5": data, not a formula


@dataclass
class Export:
    """One started export: its columns, how many rows match, and the file's bytes on demand."""

    site: Site
    actor: Actor
    entity: Entity
    fmt: str
    columns: list[FormField]
    headers: list[str]
    count: int
    filename: str
    filters: dict[str, Any]
    sort: str | None
    q: str | None
    ids: list[int] | None
    written: int = field(default=0, init=False)  # rows in the file, once produced

    @property
    def media_type(self) -> str:
        return FORMATS[self.fmt]

    def rows(self) -> Iterator[list[Any]]:
        """Each matching record as a row of plain values, read a batch at a time."""
        for batch in self._batches():
            for record in batch:
                yield [_plain(_value(column, record)) for column in self.columns]

    def _batches(self) -> Iterator[list[dict[str, Any]]]:
        table = self.entity.table
        last_id, offset = 0, 0
        while True:
            query = self.site.records.list_query(
                self.actor, self.entity.name, filters=self.filters, sort=self.sort, q=self.q, limit=BATCH_SIZE,
                offset=offset if self.sort else 0,
            )
            if self.ids is not None:
                query = query.where(table.c.id.in_(self.ids))
            if not self.sort:  # ordered by id: each batch starts after the last one
                query = query.where(table.c.id > last_id)
            with self.site.engine.connect() as conn:
                batch = [dict(row._mapping) for row in conn.execute(query)]
            if not batch:
                return
            yield batch
            if len(batch) < BATCH_SIZE:
                return
            last_id, offset = batch[-1]["id"], offset + len(batch)

    def chunks(self) -> Iterator[bytes]:
        """The file, piece by piece (CSV: one piece per batch; XLSX: built in a temporary file first)."""
        if self.fmt == "csv":
            yield from self._csv_chunks()
            return
        with tempfile.TemporaryFile() as spool:
            self._save_xlsx(spool)
            spool.seek(0)
            while piece := spool.read(1 << 16):
                yield piece

    def write(self, path: str | Path) -> int:
        """Write the file to ``path``; returns how many records it holds."""
        with open(path, "wb") as handle:
            if self.fmt == "csv":
                for piece in self._csv_chunks():
                    handle.write(piece)
            else:
                self._save_xlsx(handle)
        return self.written

    def _csv_chunks(self) -> Iterator[bytes]:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(self.headers)
        head = BOM
        self.written = 0
        for batch in self._batches():
            for record in batch:
                writer.writerow([_csv_text(_plain(_value(column, record))) for column in self.columns])
            self.written += len(batch)
            yield (head + buffer.getvalue()).encode("utf-8")
            head = ""
            buffer.seek(0)
            buffer.truncate()
        if head:  # no rows: the header line alone
            yield (head + buffer.getvalue()).encode("utf-8")

    def _save_xlsx(self, target: Any) -> int:
        book = Workbook(write_only=True)
        sheet = book.create_sheet(title=self.entity.name[:31])
        sheet.append([_xlsx_cell(sheet, header) for header in self.headers])
        written = 0
        for row in self.rows():
            sheet.append([_xlsx_cell(sheet, value) for value in row])
            written += 1
        book.save(target)
        self.written = written
        return written


def export_records(
    site: Site,
    actor: Actor,
    entity_name: str,
    fmt: str,
    *,
    filters: dict[str, Any] | None = None,
    q: str | None = None,
    sort: str | None = None,
    ids: Sequence[int] | None = None,
    headers: str = "names",
    locale: str | None = None,
) -> Export:
    """Start an export of what ``actor`` may see of ``entity_name``: checks every parameter, counts the
    matching records and writes the audit entry; the returned :class:`Export` produces the file.

    ``ids`` limits it to those records (the ones a person selected); ``filters``, ``q`` and ``sort``
    are :meth:`Records.list`'s.
    """
    if fmt not in FORMATS:
        raise ValidationError.at(["format"], f"unknown export format {fmt!r}; use csv or xlsx")
    if headers not in HEADER_STYLES:
        raise ValidationError.at(["headers"], f"unknown header style {headers!r}; use names or labels")
    view = site.view
    entity = view.entity(entity_name)
    if entity is None:
        raise NotFound(f"no entity named {entity_name!r}", [{"loc": ["entity"], "msg": "unknown or disabled entity"}])
    chosen = sorted({int(i) for i in ids}) if ids is not None else None
    base = site.records.list_query(actor, entity.name, filters=filters, sort=sort, q=q, limit=1)
    if chosen is not None:
        base = base.where(entity.table.c.id.in_(chosen))
    counting = sa.select(sa.func.count()).select_from(base.limit(None).offset(None).order_by(None).subquery())
    columns = export_columns(view, entity)
    language = locale or site.settings.default_locale
    now = site.clock.now()
    details: dict[str, Any] = {"format": fmt}
    details.update({k: v for k, v in {"filters": filters, "q": q, "sort": sort, "ids": chosen}.items() if v})
    with site.write() as conn:
        count = conn.execute(counting).scalar_one()
        audit.write(conn, [audit.entry(actor, now, entity.name, None, "export", audit.jsonable({"count": count, **details}))])
    return Export(
        site=site, actor=actor, entity=entity, fmt=fmt, columns=columns,
        headers=header_row(site, columns, headers, language), count=count,
        filename=f"{entity.name}-{now.date().isoformat()}.{fmt}",
        filters=dict(filters or {}), sort=sort or None, q=q or None, ids=chosen,
    )


def header_row(site: Site, columns: list[FormField], style: str, locale: str) -> list[str]:
    """Column names (``title``, ``custom.rating``) or their labels in ``locale``."""
    if style == "names":
        return [column.key for column in columns]
    catalog = translations(locale, plugin_locale_dirs(site.view))
    return [column.label_text(locale, catalog.gettext) for column in columns]


def _value(column: FormField, record: dict[str, Any]) -> Any:
    if column.custom:
        return (record.get("custom") or {}).get(column.name)
    return record.get(column.name)


def _plain(value: Any) -> Any:
    """A stored value as a spreadsheet cell holds it: text, a number, a date, true/false, or nothing."""
    if isinstance(value, datetime):
        moment = value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)
        return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
    if isinstance(value, list | tuple):
        return LIST_SEPARATOR.join("" if item is None else str(_plain(item)) for item in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _csv_text(value: Any) -> str:
    """A cell of a CSV file; text Excel would run as a formula gets a leading apostrophe."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    return guard_formula(value) if isinstance(value, str) else str(value)


def guard_formula(text: str) -> str:
    """``text`` for a CSV cell: text a spreadsheet would run as a formula gets a leading apostrophe
    (the one guard of every CSV the CRM writes; an import takes the apostrophe off again)."""
    if text.startswith(_FORMULA_START) or (text[:1] in ("+", "-") and not _SIGNED_NUMBER.match(text)):
        return "'" + text
    return text


def _xlsx_cell(sheet: Any, value: Any) -> Any:
    """A write-only cell; text is always stored as text (never as a formula)."""
    if not isinstance(value, str) or not (value.startswith("=") or ILLEGAL_CHARACTERS_RE.search(value)):
        return value
    cell = WriteOnlyCell(sheet, ILLEGAL_CHARACTERS_RE.sub("", value))
    cell.data_type = "s"
    return cell
