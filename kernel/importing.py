"""Imports: rows of a CSV or XLSX file become records, through the one write path.

A file is read into a :class:`Sheet` by :func:`kernel.filereading.read_sheet`
(CSV or XLSX, within the limits of :class:`~kernel.filereading.Limits`). The first
row names the columns. :func:`plan_columns` matches each header with a field of the
entity: its name (``name``, ``custom.industry``), a custom field's plain name,
or a field's English or Chinese label, ignoring case, spaces and underscores;
an explicit mapping wins. ``id``, ``created_at`` and ``updated_at`` (what an
export writes) are set by the system and skipped.

:func:`import_rows` converts each cell to what the field expects (numbers,
dates and Excel date cells, yes/no/是/否, choices by value or label,
multi-select values split on ``;`` ``,`` ``；`` ``，``, references as ids; an
empty cell leaves the field out) and writes every row with
``site.records.create_many`` inside ONE transaction, batch by batch; a batch
that fails is redone row by row, each in a savepoint, so that every bad row
is reported with the reason the API would give. Look-alikes are found per batch before it is written
(``site.records.find_duplicates``): stored records, rows written by earlier
batches and earlier rows of the same batch, so duplicates within the file are
caught too; the report names only records the importing user may read.
Unless invalid rows may be skipped, one bad row (or a dry run) rolls
everything back.
"""

from __future__ import annotations

import itertools
import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timezone
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from . import outbox, permissions
from .dryrun import dry_run_transaction
from .duplicates import Lookalikes, ask_manager
from .errors import Forbidden, NotFound, RecordError
from .entities import title_column
from .fielddescriptions import SYSTEM_COLUMNS, FormField, form_fields
from .filereading import MAX_BYTES, MAX_ROWS, ImportRefused, Limits, Sheet, SheetStream, read_sheet, stream_sheet  # noqa: F401 (re-exported)
from .i18n import counted, plugin_locale_dirs, translations
from . import importupserts
from .importrefs import References
from .importupserts import Upsert
from .records import ValidatedRow
from .timers import collector_paused

if TYPE_CHECKING:
    from .entities import Entity
    from .records import Actor
    from .site import Site, View

BATCH_SIZE = 250
#: Problem rows a report lists (the first ones); its counts cover them all.
LISTED_ISSUES = 10_000
ON_DUPLICATE = ("skip", "create", "refuse")
#: A mapping target that means "leave this column out".
IGNORE = "-"
SYSTEM = "system"
_TRUE = frozenset({"true", "yes", "y", "1", "on", "是", "对", "√", "✓"})
_FALSE = frozenset({"false", "no", "n", "0", "off", "否", "错", "×", "✗"})
_SPLIT = re.compile(r"[;,；，、\n]")
_DATE_TEXT = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T](.*))?$")
_FORMULA_GUARD = re.compile(r"^'[=+\-@\t\r]")


class UnknownColumns(ImportRefused):
    """Columns that match no field; they are left out only when the caller says so."""

    def __init__(self, entity: str, columns: list[Column]):
        self.columns = columns
        named = ", ".join(f"{c.letter} {c.header!r}" for c in columns)
        super().__init__(f"{entity}: no field matches column {named}")


# -- columns ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """One column of the file and the field it fills (``None``: left out)."""

    index: int
    header: str
    field: FormField | None
    how: str  # "matched", "mapped", "ignored", "system", "unknown", "ambiguous"
    candidates: tuple[str, ...] = ()  # the fields an ambiguous header could mean

    @property
    def letter(self) -> str:
        return column_letter(self.index)

    @property
    def key(self) -> str | None:
        return self.field.key if self.field is not None else None


def column_letter(index: int) -> str:
    """``0`` → ``A``, ``26`` → ``AA``: how a spreadsheet names a column."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _norm(text: str) -> str:
    """A header as compared: width-folded, case-folded, no spaces or underscores, no trailing ``*`` or ``:``."""
    folded = unicodedata.normalize("NFKC", text).casefold().strip().strip("*:").strip()
    return re.sub(r"[\s_]+", "", folded)


class Targets:
    """The fields a column can fill, and the names and labels that point at them, by precedence:
    names, custom fields' plain names, labels, then the synonyms plugins give
    (``register_import_synonyms``). Fields the system sets (``x-system`` in a built-in field's
    schema, like the columns every record has) are left out: a header naming one is ``system``."""

    def __init__(self, view: View, entity: Entity):
        system = system_fields(entity)
        every = form_fields(view, entity)
        self.fields = {f.key: f for f in every if f.key not in system}
        zh = translations("zh_CN", plugin_locale_dirs(view)).gettext
        self.tiers: list[dict[str, set[str]]] = [{}, {}, {}, {}]
        for f in every:
            key = SYSTEM if f.key in system else f.key
            self._add(0, f.key, key)
            if f.custom:
                self._add(1, f.name, key)
            for text in (f.label_text("en", str), f.label_text("zh_CN", zh)):
                self._add(2, text, key)
        for system_column in SYSTEM_COLUMNS:
            if system_column.key not in self.fields:
                self._add(0, system_column.key, SYSTEM)
                for text in (system_column.label_text("en", str), system_column.label_text("zh_CN", zh)):
                    self._add(2, text, SYSTEM)
        for key, headers in synonyms(view, entity.name).items():
            target = SYSTEM if key in system else key
            if target == SYSTEM or target in self.fields:
                for header in headers:
                    self._add(3, header, target)

    def _add(self, tier: int, text: str, key: str) -> None:
        if text:
            self.tiers[tier].setdefault(_norm(text), set()).add(key)

    def resolve(self, text: str) -> tuple[str, ...]:
        """The keys a header names: one, several (ambiguous) or none; names beat labels, labels beat synonyms."""
        wanted = _norm(text)
        for tier in self.tiers:
            found = tier.get(wanted)
            if found:
                return tuple(sorted(found))
        return ()

    def choices(self, locale: str, gettext: Callable[[str], str]) -> list[tuple[str, str]]:
        """``(key, label)`` of each field a column can fill, as a person picks them: by label in
        ``locale``, with the field's key added only where two fields share a label."""
        labelled = [(f.key, f.label_text(locale, gettext)) for f in self.fields.values()]
        counts: dict[str, int] = {}
        for _, text in labelled:
            counts[text] = counts.get(text, 0) + 1
        return [(key, text if counts[text] == 1 else f"{text} ({key})") for key, text in labelled]


def system_fields(entity: Entity) -> set[str]:
    """Built-in fields the system sets (a job, a rule), marked ``"x-system": True`` in their schema: never imported."""
    found = set()
    for name, info in entity.fields.model_fields.items():
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        if extra.get("x-system"):
            found.add(name)
    return found


def synonyms(view: View, entity: str) -> dict[str, list[str]]:
    """Every plugin's header synonyms for ``entity`` (``register_import_synonyms``), merged: field key → headers."""
    merged: dict[str, list[str]] = {}
    for answer in view.pm.hook.register_import_synonyms():
        for key, headers in ((answer or {}).get(entity) or {}).items():
            merged.setdefault(key, []).extend(str(h) for h in headers)
    return merged


def plan_columns(sheet: Sheet | SheetStream, view: View, entity: Entity, mapping: dict[str, str | None] | None = None) -> list[Column]:
    """Which field each column fills. ``mapping`` (header → field name, label, or ``-``/empty to leave
    the column out) overrides the automatic match. A column without a header must be empty."""
    headers = sheet.headers
    for index in sorted(sheet.filled_columns()):
        if index >= len(headers) or not headers[index]:
            raise ImportRefused(f"column {column_letter(index)} has values but no header; name it in the first row")
    targets = Targets(view, entity)
    mapping = dict(mapping or {})
    seen: dict[str, int] = {}
    for index, header in enumerate(headers):
        if header and header in seen:
            raise ImportRefused(f"columns {column_letter(seen[header])} and {column_letter(index)} have the same header {header!r}")
        seen[header] = index
    stray = [h for h in mapping if h not in seen]
    if stray:
        raise ImportRefused(f"mapping: the file has no column {stray[0]!r}")
    columns = []
    for index, header in enumerate(headers):
        if header in mapping:
            columns.append(_mapped(targets, entity, index, header, mapping[header]))
            continue
        keys = targets.resolve(header) if header else ()
        if not header:
            columns.append(Column(index, header, None, "ignored"))
        elif keys == (SYSTEM,):
            columns.append(Column(index, header, None, "system"))
        elif len(keys) == 1:
            columns.append(Column(index, header, targets.fields[keys[0]], "matched"))
        else:
            columns.append(Column(index, header, None, "ambiguous" if keys else "unknown", tuple(k for k in keys if k != SYSTEM)))
    claimed: dict[str, Column] = {}
    for column in columns:
        if column.key is None:
            continue
        if column.key in claimed:
            first = claimed[column.key]
            raise ImportRefused(f"columns {first.letter} {first.header!r} and {column.letter} {column.header!r} both fill {column.key}")
        claimed[column.key] = column
    return columns


def _mapped(targets: Targets, entity: Entity, index: int, header: str, target: str | None) -> Column:
    if target is None or target.strip() in ("", IGNORE):
        return Column(index, header, None, "ignored")
    keys = [k for k in targets.resolve(target) if k != SYSTEM]
    if len(keys) != 1:
        reason = "is ambiguous" if keys else "is not one of its fields"
        raise ImportRefused(f"mapping for column {header!r}: {target!r} {reason} ({entity.name})")
    return Column(index, header, targets.fields[keys[0]], "mapped")


# -- values ----------------------------------------------------------------------------------


def convert(form_field: FormField, value: Any, tzinfo: Any = timezone.utc) -> Any:
    """A cell's value as the write path expects it for ``form_field``.

    What cannot be converted is passed on unchanged, so the write path words the error.
    """
    widget = form_field.widget
    if widget == "checkbox":
        return _boolean(value)
    if widget in ("integer", "reference"):
        return _integer(value)
    if widget == "money":
        return _money(value)
    if widget == "number":
        return _number(value)
    if widget == "date":
        return _date(value, as_text=form_field.custom)
    if widget == "datetime":
        return _datetime(value, tzinfo, as_text=form_field.custom)
    if widget == "select":
        return _choice(form_field, _text(value))
    if widget == "multiselect":
        return [_choice(form_field, part) for part in _parts(value)]
    if widget == "list":
        parts = _parts(value)
        return [_integer(p) for p in parts] if form_field.extra.get("item") == "integer" else parts
    if widget == "json" and isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return _text(value)


def _text(value: Any) -> str:
    if type(value) is str:  # a CSV's every cell
        return value[1:] if value[:1] == "'" and _FORMULA_GUARD.match(value) else value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a phone number typed into Excel
    if isinstance(value, datetime):
        return value.isoformat(sep=" ") if value.time() != time() else value.date().isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    text = str(value)
    return text[1:] if _FORMULA_GUARD.match(text) else text  # undo an export's guard against formulas


def _parts(value: Any) -> list[str]:
    return [p.strip() for p in _SPLIT.split(_text(value)) if p.strip()]


def _boolean(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    text = unicodedata.normalize("NFKC", str(value)).strip().casefold()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return value


def _integer(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    text = _plain_number(str(value)).removeprefix("#")
    return int(text) if re.fullmatch(r"[+-]?\d{1,19}", text) else value


def _number(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value
    try:
        number = Decimal(_plain_number(str(value)))
    except InvalidOperation:
        return value
    if not number.is_finite():
        return value
    return int(number) if number == number.to_integral_value() and "." not in str(value) else float(number)


def _money(value: Any) -> Any:
    """An amount as decimal text (``¥1,234.50`` → ``"1234.50"``); a spreadsheet's number is judged by the write path."""
    if isinstance(value, bool | int | float):
        return value
    try:
        number = Decimal(_plain_number(str(value)))
    except InvalidOperation:
        return value
    return format(number, "f") if number.is_finite() else value


def _plain_number(text: str) -> str:
    """``¥1,234.50`` → ``1234.50``."""
    return re.sub(r"[\s,，¥￥$]", "", unicodedata.normalize("NFKC", text))


def _date(value: Any, *, as_text: bool) -> Any:
    if isinstance(value, datetime):
        found: Any = value.date()
    elif isinstance(value, date):
        found = value
    else:
        match = _DATE_TEXT.match(str(value).strip())
        if not match or (match.group(4) and not re.fullmatch(r"0{1,2}:0{2}(:0{2}(\.0+)?)?(Z|[+-]00:?00)?", match.group(4).strip())):
            return value
        try:
            found = date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        except ValueError:
            return value
    return found.isoformat() if as_text else found


def _datetime(value: Any, tzinfo: Any, *, as_text: bool) -> Any:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time())
    else:
        text = str(value).strip()
        match = _DATE_TEXT.match(text)
        if match:
            rest = re.sub(r"^(\d)(?=:)", r"0\1", (match.group(4) or "00:00").strip())
            text = f"{int(match.group(1)):04d}-{int(match.group(2)):02d}-{int(match.group(3)):02d}T{rest}"
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tzinfo or timezone.utc)
    return moment.isoformat() if as_text else moment


def _choice(form_field: FormField, text: str) -> str:
    """A choice given by its value or by one of its labels."""
    if not form_field.choices or text in form_field.choices:
        return text
    held = _CHOICES.get(id(form_field))
    if held is None or held[0] is not form_field:  # the field kept with its names: its id stays its own
        if len(_CHOICES) >= 256:
            _CHOICES.clear()
        names: dict[str, str] = {}
        for choice in form_field.choices:
            labels = form_field.extra.get("labels", {}).get(choice) or {}
            for name in [choice, *(labels.values() if isinstance(labels, dict) else [])]:
                names.setdefault(_norm(str(name)), choice)  # the first choice a name fits wins, as before
        held = _CHOICES[id(form_field)] = (form_field, names)
    return held[1].get(_norm(text), text)


#: Per select field (a column of an import): each normalized value and label → its choice, worked out
#: once, not for every row (a million-row file names its source by label a million times).
_CHOICES: dict[int, tuple[FormField, dict[str, str]]] = {}


def row_data(columns: Sequence[Column], cells: Sequence[Any], tzinfo: Any = timezone.utc) -> dict[str, Any]:
    """One row as record data for ``Records.create``; empty cells are left out. A file's rows are
    read by :func:`row_reader` (the same answers, each column's converter chosen once)."""
    data: dict[str, Any] = {}
    custom: dict[str, Any] = {}
    for column in columns:
        value = cells[column.index] if column.index < len(cells) else None
        if column.field is None or value is None:
            continue
        converted = convert(column.field, value, tzinfo)
        if converted == [] and column.field.widget in ("multiselect", "list"):
            continue
        (custom if column.field.custom else data)[column.field.name] = converted
    if custom:
        data["custom"] = custom
    return data



def row_reader(columns: Sequence[Column], tzinfo: Any = timezone.utc) -> Callable[[Sequence[Any]], dict[str, Any]]:
    """:func:`row_data` for the rows of one file: what each column converts with is chosen once
    (:func:`converter`), not for every cell of a million-row file."""
    plan = [
        (c.index, c.field.name, c.field.custom, c.field.widget in ("multiselect", "list"), converter(c.field, tzinfo))
        for c in columns if c.field is not None
    ]

    def read(cells: Sequence[Any]) -> dict[str, Any]:
        data: dict[str, Any] = {}
        custom: dict[str, Any] = {}
        width = len(cells)
        for index, name, is_custom, listed, convert_cell in plan:
            value = cells[index] if index < width else None
            if value is None:
                continue
            converted = convert_cell(value)
            if listed and converted == []:
                continue
            (custom if is_custom else data)[name] = converted
        if custom:
            data["custom"] = custom
        return data

    return read


def converter(form_field: FormField, tzinfo: Any = timezone.utc) -> Callable[[Any], Any]:
    """``lambda value: convert(form_field, value, tzinfo)``, with the field's kind looked at once and
    the commonest text cells (plain digits, ``2024-05-01``, 是/否) converted without the general path's
    normalizing; every other value takes :func:`convert`'s own helpers (tests compare both)."""
    widget = form_field.widget
    if widget == "checkbox":
        def boolean(value: Any) -> Any:
            if type(value) is str:
                known = _BOOLEAN_TEXT.get(value)
                if known is not None:
                    return known
            return _boolean(value)
        return boolean
    if widget in ("integer", "reference"):
        def integer(value: Any) -> Any:
            if type(value) is str and len(value) <= 19 and value.isascii() and value.isdigit():
                return int(value)
            return _integer(value)
        return integer
    if widget == "money":
        def money(value: Any) -> Any:
            if type(value) is str and _PLAIN_DECIMAL.fullmatch(value):
                return format(Decimal(value), "f")
            return _money(value)
        return money
    if widget == "date":
        as_text = form_field.custom

        def day(value: Any) -> Any:
            if type(value) is str and _ISO_DATE.fullmatch(value):
                try:
                    found = date(int(value[:4]), int(value[5:7]), int(value[8:]))
                except ValueError:
                    return value
                return value if as_text else found
            return _date(value, as_text=as_text)
        return day
    if widget == "select":
        known: dict[str, str] = {}  # each text of the column → its choice: a file names a few labels a million times

        def choice(value: Any) -> Any:
            if type(value) is not str:
                return _choice(form_field, _text(value))
            found = known.get(value)
            if found is None:
                found = _choice(form_field, _text(value))
                if len(known) < _KNOWN_TEXTS:
                    known[value] = found
            return found
        return choice
    if widget in ("number", "datetime", "multiselect", "list", "json"):
        return lambda value: convert(form_field, value, tzinfo)
    return _text


#: Texts :func:`_boolean` reads as yes or no that are already as it normalizes them (NFKC, stripped, case-folded).
_BOOLEAN_TEXT = {**dict.fromkeys(_TRUE, True), **dict.fromkeys(_FALSE, False)}
#: ``1234.50`` (ASCII digits, no sign, grouping or currency): what :func:`_plain_number` leaves as it is.
_PLAIN_DECIMAL = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
#: Distinct texts of a select column whose choice a file's reader keeps (past them, each is looked up again).
_KNOWN_TEXTS = 1024

# -- the import ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowIssue:
    """A problem with one row: a refused value (``column`` names it when known) or a likely duplicate
    of stored records (``duplicate_of``), of other rows of this import (``duplicate_rows``) or of
    records the importing user may not read (``hidden``, a count)."""

    row: int
    reason: str
    column: str | None = None
    duplicate_of: tuple[int, ...] = ()
    duplicate_rows: tuple[int, ...] = ()
    hidden: int = 0  # look-alikes the importing user may not read: counted, never named
    duplicate_names: tuple[str, ...] = ()  # what names each of ``duplicate_of`` (its name, title…)

    def __str__(self) -> str:
        where = f"row {self.row}" + (f", {self.column}" if self.column else "")
        return f"{where}: {self.reason}"


#: The units an import's summary counts in (English, as the command line speaks), by CLDR plural form.
ROWS = {"en": {"one": "row", "other": "rows"}}
IMPORTED_ROWS = {"en": {"one": "imported row", "other": "imported rows"}}
DUPLICATES = {"en": {"one": "duplicate", "other": "duplicates"}}


@dataclass
class ImportReport:
    """What an import did, or (dry run, or refused) would have done."""

    entity: str
    rows: int
    columns: list[Column]
    source: str
    on_duplicate: str
    dry_run: bool
    skip_invalid: bool
    ids: list[int] = field(default_factory=list)
    invalid: list[RowIssue] = field(default_factory=list)
    duplicates: list[RowIssue] = field(default_factory=list)  # skipped (skip) or imported anyway (create)
    written: bool = False
    updated: list[int] = field(default_factory=list)  # stored records an upsert changed
    unchanged: int = 0  # rows whose key matched a stored record already holding their values
    stopped: bool = False  # a batched import stopped at a batch with invalid rows (earlier batches are kept)
    job: int | None = None  # the import job (kernel.importjobs) that remembers what was written
    dropped_invalid: int = 0  # invalid rows counted but no longer listed (see trim)
    dropped_duplicates: int = 0
    #: the entity's :attr:`~kernel.entities.Entity.unit` (its labels by count) for :meth:`summary`; ``{}``: its name
    unit: dict[str, Any] = field(default_factory=dict)

    @property
    def imported(self) -> int:
        return len(self.ids)

    @property
    def invalid_rows(self) -> list[int]:
        return sorted({issue.row for issue in self.invalid})

    @property
    def invalid_count(self) -> int:
        """Invalid rows, listed or not."""
        return len(self.invalid_rows) + self.dropped_invalid

    @property
    def duplicate_count(self) -> int:
        return len(self.duplicates) + self.dropped_duplicates

    @property
    def skipped_duplicates(self) -> int:
        return self.duplicate_count if self.on_duplicate == "skip" else 0

    def trim(self, keep: int) -> None:
        """List at most ``keep`` invalid rows and ``keep`` duplicates (the first ones), counting the rest:
        what a million-row import keeps in memory."""
        if len(self.invalid) > keep:
            listed = {issue.row for issue in self.invalid[:keep]}
            self.dropped_invalid += len({issue.row for issue in self.invalid[keep:]} - listed)
            del self.invalid[keep:]
        if len(self.duplicates) > keep:
            self.dropped_duplicates += len(self.duplicates) - keep
            del self.duplicates[keep:]

    @property
    def refused(self) -> bool:
        """Nothing was written because rows are invalid (and invalid rows were not to be skipped)."""
        return bool(self.invalid) and not self.skip_invalid

    def summary(self) -> str:
        """One line in English: ``imported 120 notes, skipped 3 duplicates, 0 invalid`` (or what went wrong);
        each count takes its unit's singular or plural (``imported 1 note, skipped 1 duplicate``)."""
        records, duplicates, invalid = counted(self.imported, self.unit or {"en": self.entity}), counted(self.skipped_duplicates, DUPLICATES), f"{self.invalid_count:,}"
        if self.dry_run:
            return f"dry run: {records} would be imported, {duplicates} skipped, {invalid} invalid; nothing was written"
        if self.refused:
            return f"nothing imported: {invalid} of {counted(self.rows, ROWS)} {'is' if self.invalid_count == 1 else 'are'} invalid"
        line = f"imported {records}, skipped {duplicates}, {invalid} invalid"
        if self.updated or self.unchanged:
            line += f", updated {len(self.updated):,} ({self.unchanged:,} unchanged)"
        if self.on_duplicate == "create" and self.duplicates:
            alike = self.duplicate_count
            line += f" ({counted(alike, IMPORTED_ROWS)} {'looks like a duplicate' if alike == 1 else 'look like duplicates'})"
        return line

    def issues(self) -> list[RowIssue]:
        """Every problem row, invalid ones first, each group by row number."""
        return sorted(self.invalid, key=lambda i: i.row) + sorted(self.duplicates, key=lambda i: i.row)

    def issue_lines(self, limit: int = 50) -> list[str]:
        """One line per problem, at most ``limit`` of them and a count of the rest."""
        issues = self.issues()
        lines = [str(issue) for issue in issues[:limit]]
        more = len(issues) - limit + self.dropped_invalid + self.dropped_duplicates
        if more > 0:
            lines.append(f"… and {more} more")
        return lines


class _Discard(Exception):
    """Rolls the import's transaction back (a dry run, or invalid rows that may not be skipped)."""


def import_rows(
    site: Site,
    actor: Actor,
    entity_name: str,
    sheet: Sheet | SheetStream,
    *,
    mapping: dict[str, str | None] | None = None,
    ignore_unknown: bool = False,
    skip_invalid: bool = False,
    on_duplicate: str = "skip",
    dry_run: bool = False,
    tzinfo: Any = timezone.utc,
    progress: Callable[[int, int], None] | None = None,
    filename: str = "",
    file_hash: str = "",
    upsert: Upsert | None = None,
) -> ImportReport:
    """Import ``sheet`` as ``entity_name`` records written by ``actor`` (on the ``import`` channel),
    all or nothing, in one transaction. The import is kept as a job (:mod:`kernel.importjobs`), so
    ``crm import --undo JOB`` can remove what it created; large files go through
    :func:`kernel.importjobs.import_in_batches` instead.

    Raises :class:`ImportRefused` (or :class:`UnknownColumns`) when the file as a whole cannot be
    imported; problems with single rows are in the report.
    """
    from . import importjobs

    entity, columns = prepare(site, actor, entity_name, sheet, mapping=mapping, ignore_unknown=ignore_unknown, on_duplicate=on_duplicate)
    total = sheet.count
    report = ImportReport(entity.name, total, columns, sheet.source, on_duplicate, dry_run, skip_invalid, unit=entity.unit)
    if upsert is not None:
        upsert.check(entity)
    writer = Writer(site, replace(actor, channel="import"), entity.name, columns, report, upsert)
    options = {"mapping": mapping, "ignore_unknown": ignore_unknown, "skip_invalid": skip_invalid, "on_duplicate": on_duplicate, "upsert": _upsert_options(upsert)}
    try:
        with dry_run_transaction(site) if dry_run else site.write() as conn:
            done = last_row = 0
            read = row_reader(columns, tzinfo)
            for part in _batches(sheet.iter_rows(), BATCH_SIZE):
                with collector_paused():  # a batch's rows live till it is written (kernel.importjobs says why)
                    writer.write(conn, [(number, read(cells)) for number, cells in part])
                report.trim(LISTED_ISSUES)
                done, last_row = done + len(part), part[-1][0]
                if progress is not None:
                    progress(done, total)
            if dry_run or report.refused:
                raise _Discard()
            report.job = importjobs.record_whole(site, conn, actor, report, writer.created, filename=filename or sheet.source, file_hash=file_hash, options=options,
                last_row=last_row,
            )
    except _Discard:
        pass
    else:
        report.written = True
    if report.refused and not dry_run:
        report.ids = []  # rolled back
    return report


def prepare(
    site: Site, actor: Actor, entity_name: str, sheet: Sheet | SheetStream, *,
    mapping: dict[str, str | None] | None = None, ignore_unknown: bool = False, on_duplicate: str = "skip",
) -> tuple[Entity, list[Column]]:
    """The entity and the planned columns of an import, or :class:`ImportRefused` saying why not."""
    if on_duplicate not in ON_DUPLICATE:
        raise ImportRefused(f"on_duplicate must be one of {', '.join(ON_DUPLICATE)}, not {on_duplicate!r}")
    view = site.view
    entity = view.entity(entity_name)
    if entity is None:
        raise NotFound(f"no entity named {entity_name!r}", [{"loc": ["entity"], "msg": "unknown or disabled entity"}])
    if not permissions.allowed(site, actor, entity.name, "create"):
        raise Forbidden(f"you may not create {entity.name}")
    columns = plan_columns(sheet, view, entity, mapping)
    unknown = [c for c in columns if c.how in ("unknown", "ambiguous") and c.header]
    if unknown and not ignore_unknown:
        raise UnknownColumns(entity.name, unknown)
    if not any(c.field is not None for c in columns):
        raise ImportRefused(f"no column of the file matches a field of {entity.name}")
    return entity, columns


def _upsert_options(upsert: Upsert | None) -> dict[str, Any] | None:
    return None if upsert is None else {"key": upsert.key, "policy": upsert.policy, "fields": upsert.fields}


def _batches(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    """``items`` in lists of ``size`` (the last may be shorter), taken as they come."""
    items = iter(items)
    while batch := list(itertools.islice(items, size)):
        yield batch


@dataclass
class CheckedBatch:
    """A batch as checked before its write: the rows to create (validated), the stored records to
    update, the rows set aside, and ``seen``, the last committed write the check saw (None: checked in
    the write transaction itself)."""

    rows: list[tuple[int, dict[str, Any]]]  # as read from the file, for a check done again
    seen: int | None
    create: list[tuple[int, Any]] = field(default_factory=list)  # (row, ValidatedRow)
    updates: list[tuple[int, dict[str, Any], dict[str, Any]]] = field(default_factory=list)  # (row, stored record, the row's values)
    invalid: list[RowIssue] = field(default_factory=list)
    duplicates: list[RowIssue] = field(default_factory=list)  # set aside (on_duplicate skip)
    flagged: list[RowIssue] = field(default_factory=list)  # look-alikes written anyway (on_duplicate create)


class Writer:
    """Checks and writes batches of rows and records what happened to each.

    :meth:`check` does what only reads — references by natural key, upsert matches, look-alikes
    (``site.records.find_duplicates``, one call a batch: stored records, rows written earlier by
    this import, earlier rows of the batch) and each row's validation — and may run on a read
    connection before the write transaction. :meth:`store` then writes, in the write transaction:
    it first asks whether a record of the entity (or of one its references name) was written since
    the check (:func:`kernel.outbox.written_since`) and checks again there if so; then the updates
    and one ``create_many`` of the validated rows (hooks, audit). A batch the write path refuses is
    redone row by row, each in a savepoint, so every bad row is reported with the reason the API would give.
    """

    def __init__(self, site: Site, actor: Actor, entity: str, columns: list[Column], report: ImportReport, upsert: Upsert | None = None):
        self.site, self.actor, self.entity, self.report, self.upsert = site, actor, entity, report, upsert
        self.detects = bool(site.view.pm.hook.find_duplicates.get_hookimpls())
        self.headers = {c.key: c.header for c in columns if c.key is not None}
        self.rows_by_id: dict[int, int] = {}
        self.created: list[tuple[int, int]] = []  # (row, id) of each record written, in order
        self.references = References(site, actor, columns)
        self.watched = sorted({entity, *(c.field.reference for c in self.references.columns if c.field is not None and c.field.reference)})

    def write(self, conn: sa.Connection, batch: list[tuple[int, dict[str, Any]]]) -> None:
        """Check and write ``batch`` in the caller's write transaction ``conn``."""
        self.store(conn, self.check(conn, batch, watch=False))

    def check(self, conn: sa.Connection, batch: list[tuple[int, dict[str, Any]]], *, watch: bool = True) -> CheckedBatch:
        """Everything about ``batch`` that only reads the database; ``conn`` may be a read connection
        (``watch``: note the last committed write first, so :meth:`store` can tell what came after)."""
        seen = outbox.last_commit(conn) if watch else None
        checked = CheckedBatch(batch, seen)
        rows = [(number, {**data, "custom": dict(data["custom"])} if "custom" in data else dict(data)) for number, data in batch]
        rows, checked.invalid = self.references.resolve(conn, rows)
        if self.upsert is not None:
            rows = self._matched(conn, rows, checked)
        keep = self._sorted_out(conn, rows, checked)
        checked.create = self._validated(keep, checked.invalid)
        return checked

    def store(self, conn: sa.Connection, checked: CheckedBatch) -> None:
        """Write what :meth:`check` found in the write transaction ``conn``, checking again first when
        records it depends on were written since."""
        if checked.seen is not None and outbox.written_since(conn, checked.seen, self.watched):
            checked = self.check(conn, checked.rows, watch=False)
        if checked.updates and self._updated(conn, checked.updates) and checked.create:  # an update may have made a look-alike
            rows = {number for number, _ in checked.create}
            checked.flagged = [issue for issue in checked.flagged if issue.row not in rows]
            checked.create = self._sorted_out(conn, checked.create, checked)
        self.report.invalid.extend(checked.invalid)
        self.report.duplicates.extend(checked.duplicates)
        keep = checked.create
        if keep and not self._all_at_once(conn, keep):
            for number, data in keep:
                self._one(conn, number, data)
        created = set(self.rows_by_id.values())
        self.report.duplicates.extend(issue for issue in checked.flagged if issue.row in created)  # imported anyway

    def _validated(self, rows: list[tuple[int, dict[str, Any]]], invalid: list[RowIssue]) -> list[tuple[int, Any]]:
        """``rows`` as the write path cleans them (:meth:`kernel.records.Records.validate_new`); the refused ones go to ``invalid``."""
        validated = []
        for number, data in rows:
            try:
                validated.append((number, self.site.records.validate_new(self.entity, data)))
            except RecordError as exc:
                invalid.extend(self._issues(number, exc))
        return validated

    def _sorted_out(self, conn: sa.Connection, batch: list[tuple[int, Any]], checked: CheckedBatch) -> list[tuple[int, Any]]:
        """The rows to write; look-alikes set aside (``skip``), refused (``refuse``) or flagged and kept (``create``) in ``checked``."""
        if not self.detects or not batch:
            return batch
        values = [data.data if isinstance(data, ValidatedRow) else data for _, data in batch]
        found = self.site.records.find_duplicates(self.actor, self.entity, values, conn=conn)
        titles = self._titles(conn, {id_ for lookalikes in found for id_ in lookalikes.ids(self.entity)})
        keep = []
        for (number, data), lookalikes in zip(batch, found):
            if not lookalikes:
                keep.append((number, data))
                continue
            issue = self._duplicate(number, lookalikes, [n for n, _ in batch], titles)
            if self.report.on_duplicate == "create":
                keep.append((number, data))
                checked.flagged.append(issue)
            else:
                (checked.duplicates if self.report.on_duplicate == "skip" else checked.invalid).append(issue)
        return keep

    def _matched(self, conn: sa.Connection, batch: list[tuple[int, dict[str, Any]]], checked: CheckedBatch) -> list[tuple[int, dict[str, Any]]]:
        """Rows whose key matches one stored record are to update it (kept in ``checked``); the rest go on to be created."""
        assert self.upsert is not None
        entity = self.site.view.entity(self.entity)
        found = importupserts.matched(self.site, conn, self.actor, entity, self.upsert, batch)
        rest = []
        for number, data in batch:
            records = found.get(number)
            if not records:
                rest.append((number, data))
            elif len(records) > 1:
                checked.invalid.append(RowIssue(number, f"{data[self.upsert.key]!r} matches {len(records)} records by {self.upsert.key}; give a unique key", self.headers.get(self.upsert.key)))
            else:
                checked.updates.append((number, records[0], data))
        return rest

    def _updated(self, conn: sa.Connection, updates: list[tuple[int, dict[str, Any], dict[str, Any]]]) -> bool:
        """Apply each matched row to its stored record (by the policies); True when one changed."""
        assert self.upsert is not None
        entity = self.site.view.entity(self.entity)
        changed = False
        for number, stored, data in updates:
            result = importupserts.apply(self.site, conn, self.actor, entity, self.upsert, stored, data)
            if isinstance(result, RecordError):
                self.report.invalid.extend(self._issues(number, result))
            elif result:
                self.report.updated.append(stored["id"])
                changed = True
            else:
                self.report.unchanged += 1
        return changed

    def _all_at_once(self, conn: sa.Connection, rows: list[tuple[int, Any]]) -> bool:
        """``rows`` in one ``create_many``; False (and nothing kept) when the write path refuses one."""
        savepoint = conn.begin_nested()
        try:
            ids = self.site.records.create_many(self.actor, self.entity, [data for _, data in rows], conn=conn)
        except (RecordError, sa.exc.IntegrityError):
            savepoint.rollback()
            return False
        savepoint.commit()
        self._created(rows, ids)
        return True

    def _created(self, rows: list[tuple[int, Any]], ids: list[int]) -> None:
        self.report.ids.extend(ids)
        self.created.extend((number, id_) for (number, _), id_ in zip(rows, ids))
        self.rows_by_id.update((id_, number) for (number, _), id_ in zip(rows, ids))

    def _titles(self, conn: sa.Connection, ids: set[int]) -> dict[int, str]:
        """What names each of ``ids`` (readable look-alikes), in one query."""
        entity = self.site.view.entity(self.entity)
        column = title_column(entity) if entity is not None else None
        wanted = sorted(i for i in ids if i not in self.rows_by_id)
        if column is None or not wanted:
            return {}
        table = entity.table
        return {row.id: str(row.title) for row in conn.execute(sa.select(table.c.id, table.c[column].label("title")).where(table.c.id.in_(wanted))) if row.title not in (None, "")}

    def _duplicate(self, number: int, lookalikes: Lookalikes, batch_rows: list[int], titles: dict[int, str]) -> RowIssue:
        """``duplicate of ACME Ltd (#12), row 3`` (a stored record, a row of this file), and how many
        similar records the importing user may not see, never which."""
        ids = lookalikes.ids(self.entity)
        rows = {self.rows_by_id[i] for i in ids if i in self.rows_by_id} | {batch_rows[i] for i in lookalikes.rows}
        stored = tuple(i for i in ids if i not in self.rows_by_id)
        names = tuple(titles.get(i, "") for i in stored)
        named = [f"{name} (#{i})" if name else f"#{i}" for i, name in zip(stored, names)] + [f"row {r}" for r in sorted(rows)]
        reasons = (["duplicate of " + ", ".join(named)] if named else []) + ([ask_manager(lookalikes.hidden)] if lookalikes.hidden else [])
        reason = "; ".join(reasons)
        return RowIssue(number, reason, duplicate_of=stored, duplicate_rows=tuple(sorted(rows)), hidden=lookalikes.hidden, duplicate_names=names)

    def _one(self, conn: sa.Connection, number: int, data: Any) -> None:
        savepoint = conn.begin_nested()
        try:
            record_id = self.site.records.create_many(self.actor, self.entity, [data], conn=conn)[0]
        except RecordError as exc:
            savepoint.rollback()
            self.report.invalid.extend(self._issues(number, exc))
            return
        except sa.exc.IntegrityError:
            savepoint.rollback()
            self.report.invalid.append(RowIssue(number, "clashes with a stored record (a value that must be unique)"))
            return
        savepoint.commit()
        self._created([(number, data)], [record_id])

    def _issues(self, number: int, exc: RecordError) -> list[RowIssue]:
        if not exc.details:
            return [RowIssue(number, exc.message)]
        issues = []
        for detail in exc.details:
            loc = [str(part) for part in detail.get("loc", []) if part != "body"]
            key = ".".join(loc[:2]) if loc[:1] == ["custom"] else (loc[0] if loc else "")
            column = self.headers.get(key) or key or None
            issues.append(RowIssue(number, str(detail.get("msg", exc.message)), column))
        return issues

