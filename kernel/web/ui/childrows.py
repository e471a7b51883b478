"""The generic form's child rows (:mod:`kernel.children`): one block of rows per declaration.

Each row's inputs are the child entity's built-in fields, named ``NAME.INDEX.FIELD``
(``lines.0.qty``), with ``NAME.INDEX.id`` for a stored row and a ``NAME.INDEX._delete``
check box to remove it. The form always carries one blank row (more with "Add row",
a script cloning a template); a new row left blank is ignored. Posted back, the rows
become the nested list :meth:`~kernel.records.Records.update` takes: stored rows send
every field (the kernel keeps what did not change), removed rows ``{"id", "_delete"}``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from ...db import Money
from ...fielddescriptions import FormField, form_fields
from ...parsing import optional_id
from .forms import form_values, read_value

if TYPE_CHECKING:
    from ...children import Children
    from .context import UI

#: Placeholder for the row index in the template a script clones for "Add row".
TEMPLATE_INDEX = "__row__"


@dataclass
class Row:
    index: Any  # an int, or TEMPLATE_INDEX
    id: int | None
    fields: list[FormField]
    values: dict[str, Any]
    errors: dict[str, str]
    removed: bool = False


@dataclass
class RowSet:
    name: str
    label: str
    columns: list[FormField]  # the child's fields, for the header
    rows: list[Row]
    template: Row
    next_index: int
    error: str = ""


def child_fields(ui: UI, kids: Children) -> list[FormField]:
    child = ui.view.entity(kids.entity)
    return [f for f in form_fields(ui.view, child) if not f.custom and f.name != kids.parent_field]


@dataclass
class Shown:
    label: str
    columns: list[FormField]
    rows: list[dict[str, Any]]


def shown_sets(ui: UI, entity: Any, record: dict[str, Any]) -> list[Shown]:
    """The record's rows for its detail page: the child's input fields, then the columns the kernel
    or a ``compute`` fills (an amount), as a table."""
    found = []
    for kids in entity.children:
        child = ui.view.entity(kids.entity)
        if child is None:
            continue
        columns = child_fields(ui, kids)
        named = {f.name for f in columns} | {kids.parent_field, "id", "created_at", "updated_at", "custom"}
        for column in child.table.columns:
            if column.name in named or column.name not in child.columns:
                continue
            widget = "money" if isinstance(column.type, Money) else "integer" if _python_type(column) is int else "text"
            columns.append(FormField(column.name, column.name.replace("_", " ").capitalize(), widget))
        label = ui.label(kids.label, "") if kids.label else ui.label(child.label_plural, kids.entity)
        found.append(Shown(label, columns, list(record.get(kids.name) or [])))
    return found


def _python_type(column: Any) -> Any:
    try:
        return column.type.python_type
    except NotImplementedError:
        return None


def _cells(fields: list[FormField], name: str, index: Any) -> list[FormField]:
    return [replace(f, name=f"{name}.{index}.{f.name}") for f in fields]


def row_sets(
    ui: UI, entity: Any, record: dict[str, Any] | None, form: Any = None, details: list[dict[str, Any]] | None = None
) -> list[RowSet]:
    """The blocks of rows to show: the record's (or, after a refused post, the submitted ones, with their errors)."""
    found = []
    for kids in entity.children:
        fields = child_fields(ui, kids)
        errors: dict[Any, dict[str, str]] = {}
        general = ""
        for detail in details or []:
            loc = [p for p in detail.get("loc", []) if p != "body"]
            if loc[:1] != [kids.name]:
                continue
            if len(loc) >= 3 and isinstance(loc[1], int):
                errors.setdefault(loc[1], {}).setdefault(f"{kids.name}.{loc[1]}.{loc[2]}", str(detail.get("msg", "")))
            elif len(loc) == 2 and isinstance(loc[1], int):
                errors.setdefault(loc[1], {}).setdefault(f"{kids.name}.{loc[1]}.{fields[0].name}" if fields else "", str(detail.get("msg", "")))
            else:
                general = general or str(detail.get("msg", ""))
        rows: list[Row] = []
        if form is None:
            stored = (record or {}).get(kids.name) or []
            for index, row in enumerate(stored):
                values = {f"{kids.name}.{index}.{k}": v for k, v in form_values(row, fields, ui.tzinfo).items()}
                rows.append(Row(index, row["id"], _cells(fields, kids.name, index), values, {}))
        else:
            for index in _indexes(form, kids.name):
                cells = _cells(fields, kids.name, index)
                values = {c.key: (c.key in form) if c.widget == "checkbox" else form.get(c.key) for c in cells}
                row_id = optional_id(str(form.get(f"{kids.name}.{index}.id", "")))
                # the kernel's loc counts the rows as sent: the same order, blank new rows left out
                rows.append(Row(index, row_id, cells, values, {}, removed=f"{kids.name}.{index}._delete" in form))
            blank = form_values(None, fields, ui.tzinfo)
            rows = [r for r in rows if r.id is not None or not (r.removed or _untouched(form, kids.name, r.index, fields, blank))]
            sent = rows  # blank and removed new rows were left out of the call: shown once more as one blank row
            for position, row in enumerate(sent):
                row.errors = {k.replace(f"{kids.name}.{position}.", f"{kids.name}.{row.index}.", 1): v for k, v in errors.get(position, {}).items()}
        next_index = max([r.index for r in rows if isinstance(r.index, int)], default=-1) + 1
        blank = form_values(None, fields, ui.tzinfo)
        rows.append(Row(next_index, None, _cells(fields, kids.name, next_index), {f"{kids.name}.{next_index}.{k}": v for k, v in blank.items()}, {}))
        template = Row(TEMPLATE_INDEX, None, _cells(fields, kids.name, TEMPLATE_INDEX), {f"{kids.name}.{TEMPLATE_INDEX}.{k}": v for k, v in blank.items()}, {})
        label = ui.label(kids.label, "") if kids.label else ui.label(ui.view.entity(kids.entity).label_plural, kids.entity)
        found.append(RowSet(kids.name, label, fields, rows, template, next_index + 1, general))
    return found


def _indexes(form: Any, name: str) -> list[int]:
    """The row indexes a form carries, in the order they were shown."""
    seen: dict[int, None] = {}
    for key in form.keys():
        parts = key.split(".")
        if len(parts) >= 3 and parts[0] == name and parts[1].isdigit() and len(parts[1]) < 6:
            seen.setdefault(int(parts[1]), None)
    return sorted(seen)


def _untouched(form: Any, name: str, index: int, fields: list[FormField], blank: dict[str, Any]) -> bool:
    """Whether a new row still shows only what a blank row starts with (it is then left out)."""
    for f in fields:
        key = f"{name}.{index}.{f.name}"
        if f.widget == "checkbox":
            if (key in form) != bool(blank.get(f.name)):
                return False
            continue
        if f.widget == "multiselect":
            if [v for v in form.getlist(key) if v]:
                return False
            continue
        text = str(form.get(key) or "").strip()
        start = blank.get(f.name)
        if text and text != ("" if start is None else str(start)):
            return False
    return True


def read_rows(ui: UI, entity: Any, form: Any, *, creating: bool) -> dict[str, list[dict[str, Any]]]:
    """The nested lists a submitted form carries, for ``Records.create``/``update``."""
    data: dict[str, list[dict[str, Any]]] = {}
    for kids in entity.children:
        fields = child_fields(ui, kids)
        if not any(key.startswith(f"{kids.name}.") for key in form.keys()):
            continue
        rows: list[dict[str, Any]] = []
        blank = form_values(None, fields, ui.tzinfo)
        for index in _indexes(form, kids.name):
            row_id = None if creating else optional_id(str(form.get(f"{kids.name}.{index}.id", "")))
            if row_id is not None and f"{kids.name}.{index}._delete" in form:
                rows.append({"id": row_id, "_delete": True})
                continue
            if row_id is None and f"{kids.name}.{index}._delete" in form:
                continue  # a new row removed before saving
            if row_id is None and _untouched(form, kids.name, index, fields, blank):
                continue  # the blank row
            values: dict[str, Any] = {}
            for cell in _cells(fields, kids.name, index):
                present, value = read_value(cell, form, ui.tzinfo)
                if not present or (row_id is None and value is None):
                    continue  # a new row's empty optional field: its default applies
                values[cell.name.rsplit(".", 1)[1]] = value
            rows.append({"id": row_id, **values} if row_id is not None else values)
        data[kids.name] = rows
    return data
