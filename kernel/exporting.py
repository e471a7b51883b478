"""Exports: the records a user may see, as CSV or XLSX, for the UI's download and ``crm export``.

Rows are read through :meth:`Records.list_query` as the acting user, so record
rules, filters, search and sort work exactly as on the list page, in batches of
:data:`BATCH_SIZE` (by id when unsorted, else page by page), never all at once.

Columns are ``id``, the built-in fields a form or detail page shows (never a
password), the active custom fields, then ``created_at`` and ``updated_at``
(:func:`kernel.fielddescriptions.export_columns`).

An export is for people unless asked ``raw``: headers are the fields' labels in
the reader's language (a money column's with its currency, ``Amount (CNY)``),
references are the names of the records they point at (read once per batch and
referenced entity, under the reader's record rules), choices are their labels,
true/false is 是/否 (Yes/No), times are in the reader's time zone
(``2026-01-06 01:30``; date-time cells in XLSX), and money is a number (with its
currency in the XLSX cell's format). A ``raw`` export is for machines and
re-import: headers are the field names (``title``, ``custom.rating``), values are
the stored codes and ids, times ISO 8601 in UTC, true/false ``true``/``false``.
Either way multi-select and list values are joined with ``"; "``.

CSV is UTF-8 with a byte-order mark, so Excel reads Chinese correctly; XLSX is
written by openpyxl in write-only mode. Text a spreadsheet would run as a formula
never is (:func:`guard_formula`, text cells in XLSX).

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
from .money import MINOR_UNITS
from .timezones import user_zone
from .titles import reference_titles

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

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
#: How a readable export writes a moment (in the reader's zone) in CSV, and formats date and time cells in XLSX.
TIME_TEXT = "%Y-%m-%d %H:%M"
XLSX_DATETIME = "yyyy-mm-dd hh:mm"
XLSX_DATE = "yyyy-mm-dd"


@dataclass(frozen=True)
class Amount:
    """A money value of a readable export: a number in CSV, a number cell showing its currency in XLSX."""

    value: Decimal
    currency: str


class Reading:
    """Stored values as a person reads them: labels in ``locale``, moments in ``tz``, references by name."""

    def __init__(self, site: Site, actor: Actor, entity: Entity, columns: list[FormField], locale: str, tz: ZoneInfo):
        self.site, self.actor, self.entity, self.columns, self.locale, self.tz = site, actor, entity, columns, locale, tz
        self.gettext = translations(locale, plugin_locale_dirs(site.view)).gettext
        self.default_currency = site.settings.default_currency
        self.per_record_currency = "currency" in entity.columns

    def currency(self, column: FormField, record: dict[str, Any]) -> str:
        """A money column's currency: the field's own, else the record's ``currency``, else the site's default."""
        if column.custom:
            return str(column.extra.get("currency") or self.default_currency)
        if self.per_record_currency and record.get("currency"):
            return str(record["currency"])
        return self.default_currency

    def header(self, column: FormField) -> str:
        """The column's label; a money column with one currency says which (``Amount (CNY)``)."""
        text = column.label_text(self.locale, self.gettext)
        if column.widget == "money" and (column.custom or not self.per_record_currency):
            return f"{text} ({self.currency(column, {})})"
        return text

    def rows(self, batch: list[dict[str, Any]]) -> Iterator[list[Any]]:
        """The batch's rows; the records its references point at are named in one query per entity."""
        titles = reference_titles(self.site, self.actor, self.columns, batch)
        for record in batch:
            yield [self.value(column, record, _value(column, record), titles) for column in self.columns]

    def value(self, column: FormField, record: dict[str, Any], value: Any, titles: dict[tuple[str, int], str]) -> Any:
        if value is None or value == "" or value == []:
            return None
        widget = column.widget
        if isinstance(value, bool) or widget == "checkbox":
            return self.gettext("Yes") if value else self.gettext("No")
        if widget == "select":
            return column.choice_label(value, self.locale, self.gettext)
        if widget == "multiselect" and isinstance(value, list):
            return LIST_SEPARATOR.join(column.choice_label(item, self.locale, self.gettext) for item in value)
        if widget in ("reference", "list") and column.reference:
            ids = value if isinstance(value, list) else [value]
            return LIST_SEPARATOR.join(titles.get((column.reference, item), f"#{item}") for item in ids)
        if widget == "money":
            return Amount(Decimal(str(value)), self.currency(column, record))
        if widget == "datetime" or isinstance(value, datetime):
            return self.local_time(value)
        if widget == "date" and isinstance(value, str):
            return date.fromisoformat(value[:10])
        return _plain(value)

    def local_time(self, value: Any) -> Any:
        """A moment as the reader's wall-clock time (no zone: spreadsheets have none)."""
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                return value
        if not isinstance(value, datetime):
            return value
        moment = value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)
        return moment.astimezone(self.tz).replace(tzinfo=None, microsecond=0)


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
    reading: Reading | None = None  # how values read for a person; None: raw codes, ids and UTC
    written: int = field(default=0, init=False)  # rows in the file, once produced

    @property
    def media_type(self) -> str:
        return FORMATS[self.fmt]

    def rows(self) -> Iterator[list[Any]]:
        """Each matching record as a row of plain values, read a batch at a time."""
        for batch in self._batches():
            yield from self._rows(batch)

    def _rows(self, batch: list[dict[str, Any]]) -> Iterator[list[Any]]:
        if self.reading is not None:
            yield from self.reading.rows(batch)
            return
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
            writer.writerows([_csv_text(value) for value in row] for row in self._rows(batch))
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
    raw: bool = False,
    headers: str | None = None,
    locale: str | None = None,
    tz: ZoneInfo | None = None,
) -> Export:
    """Start an export of what ``actor`` may see of ``entity_name``: checks every parameter, counts the
    matching records and writes the audit entry; the returned :class:`Export` produces the file.

    ``ids`` limits it to those records (the ones a person selected); ``filters``, ``q`` and ``sort``
    are :meth:`Records.list`'s. Values read for a person in ``locale`` (default: the site's) and
    ``tz`` (default: the actor's zone, else the site's) unless ``raw``; ``headers`` are ``labels``
    or ``names``, by default labels for a person and names for a raw export.
    """
    headers = headers or ("names" if raw else "labels")
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
    details: dict[str, Any] = {"format": fmt, **({"raw": True} if raw else {})}
    details.update({k: v for k, v in {"filters": filters, "q": q, "sort": sort, "ids": chosen}.items() if v})
    with site.write() as conn:
        count = conn.execute(counting).scalar_one()
        audit.write(conn, [audit.entry(actor, now, entity.name, None, "export", audit.jsonable({"count": count, **details}))])
    reading = None if raw else Reading(site, actor, entity, columns, language, tz or user_zone(site, actor.user_id))
    if reading is not None and headers == "labels":
        header_texts = [reading.header(column) for column in columns]
    else:
        header_texts = header_row(site, columns, headers, language)
    return Export(
        site=site, actor=actor, entity=entity, fmt=fmt, columns=columns, headers=header_texts, count=count,
        filename=f"{entity.name}-{now.date().isoformat()}.{fmt}",
        filters=dict(filters or {}), sort=sort or None, q=q or None, ids=chosen, reading=reading,
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
    if isinstance(value, Amount):
        return str(value.value)
    if isinstance(value, datetime):  # a readable export's local time
        return value.strftime(TIME_TEXT)
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
    if isinstance(value, Amount | datetime | date):
        return _formatted_cell(sheet, value)
    if not isinstance(value, str) or not (value.startswith("=") or ILLEGAL_CHARACTERS_RE.search(value)):
        return value
    cell = WriteOnlyCell(sheet, ILLEGAL_CHARACTERS_RE.sub("", value))
    cell.data_type = "s"
    return cell


def _formatted_cell(sheet: Any, value: Amount | datetime | date) -> Any:
    """A number or date cell with the format a person reads it in: ``1,234.50 "CNY"``, ``2026-01-06 01:30``."""
    if isinstance(value, Amount):
        cell = WriteOnlyCell(sheet, value.value)
        if value.currency in MINOR_UNITS:
            digits = MINOR_UNITS[value.currency]
            cell.number_format = ("#,##0." + "0" * digits if digits else "#,##0") + f' "{value.currency}"'
        return cell
    if isinstance(value, datetime):
        if value.tzinfo is not None:  # a raw export's moment (UTC): spreadsheets keep no zone
            return value
        cell = WriteOnlyCell(sheet, value)
        cell.number_format = XLSX_DATETIME
        return cell
    cell = WriteOnlyCell(sheet, value)
    cell.number_format = XLSX_DATE
    return cell


# -- a plugin's own table (a report) ---------------------------------------------------------------


@dataclass
class TableExport:
    """A table a plugin computed (a report), as a CSV or XLSX file; see :func:`export_table`."""

    fmt: str
    filename: str
    headers: list[str]
    rows: list[list[Any]]
    sheet: str

    @property
    def media_type(self) -> str:
        return FORMATS[self.fmt]

    def chunks(self) -> Iterator[bytes]:
        """The file's bytes (in one piece: a report is a page of figures, not a table of records)."""
        buffer = io.BytesIO()
        self._save(buffer)
        yield buffer.getvalue()

    def write(self, path: str | Path) -> int:
        """Write the file to ``path``; returns how many rows it holds."""
        with open(path, "wb") as handle:
            self._save(handle)
        return len(self.rows)

    def _save(self, target: Any) -> None:
        if self.fmt == "csv":
            text = io.StringIO()
            writer = csv.writer(text, lineterminator="\r\n")
            writer.writerow([_csv_text(h) for h in self.headers])
            writer.writerows([_csv_text(value) for value in row] for row in self.rows)
            target.write((BOM + text.getvalue()).encode("utf-8"))
            return
        book = Workbook(write_only=True)
        sheet = book.create_sheet(title=re.sub(r"[\[\]:*?/\\]", " ", self.sheet)[:31] or "report")
        sheet.append([_xlsx_cell(sheet, header) for header in self.headers])
        for row in self.rows:
            sheet.append([_xlsx_cell(sheet, value) for value in row])
        book.save(target)


def export_table(
    site: Site, actor: Actor, name: str, fmt: str, headers: Sequence[str], rows: Sequence[Sequence[Any]], *,
    details: dict[str, Any] | None = None,
) -> TableExport:
    """A plugin's table (a report it computed under ``actor``'s record rules) as a CSV or XLSX file,
    written the way record exports are: UTF-8 with a byte-order mark, formulas never run, dates and
    ``Decimal`` amounts as date and number cells. Starting it writes one audit entry (action ``export``,
    entity ``name``, e.g. ``"pools.claims"``, changes ``{"count", "format", **details}``).

    ``rows`` hold plain values: text, numbers, ``Decimal``, ``date``, naive local ``datetime`` (as the
    reader reads it), ``bool`` or ``None``. A bad ``fmt`` is a 422 on ``format``.
    """
    if fmt not in FORMATS:
        raise ValidationError.at(["format"], f"unknown export format {fmt!r}; use csv or xlsx")
    table = [list(row) for row in rows]
    now = site.clock.now()
    with site.write() as conn:
        audit.write(conn, [audit.entry(actor, now, name, None, "export", audit.jsonable({"count": len(table), "format": fmt, **(details or {})}))])
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-") or "report"
    return TableExport(fmt=fmt, filename=f"{slug}-{now.date().isoformat()}.{fmt}", headers=[str(h) for h in headers], rows=table, sheet=slug)
