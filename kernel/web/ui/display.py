"""Showing stored values to a person: formatted for the locale, references as names."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...errors import RecordError
from ...entities import TITLE_COLUMNS, record_title, title_column  # noqa: F401 - re-exported for the pages
from ...fielddescriptions import FormField

if TYPE_CHECKING:
    from ...entities import Entity
    from .context import UI


def reference_labels(ui: UI, fields: list[FormField], records: list[dict[str, Any]]) -> dict[tuple[str, int], str]:
    """``{(entity, id): title}`` for every record the given reference fields point at, one query per entity.

    Only records the user may see are named; others stay ``#id``.
    """
    wanted: dict[str, set[int]] = {}
    for form_field in fields:
        if form_field.widget not in ("reference", "list") or not form_field.reference:
            continue
        for record in records:
            value = (record.get("custom") or {}).get(form_field.name) if form_field.custom else record.get(form_field.name)
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, int) and not isinstance(item, bool):
                    wanted.setdefault(form_field.reference, set()).add(item)
    labels: dict[tuple[str, int], str] = {}
    for target_name, ids in wanted.items():
        target = ui.view.entity(target_name)
        column = title_column(target) if target else None
        if target is None or column is None:
            continue
        try:
            query = ui.site.records.list_query(ui.actor, target_name, limit=len(ids))
        except RecordError:
            continue
        query = query.where(target.table.c.id.in_(ids)).with_only_columns(target.table.c.id, target.table.c[column])
        with ui.site.engine.connect() as conn:
            for row in conn.execute(query):
                labels[(target_name, row[0])] = str(row[1])
    return labels


def raw_value(form_field: FormField, record: dict[str, Any]) -> Any:
    """The stored value of ``form_field`` in ``record`` (custom fields read from ``record["custom"]``)."""
    if form_field.custom:
        return (record.get("custom") or {}).get(form_field.name)
    return record.get(form_field.name)


def show(ui: UI, form_field: FormField, value: Any, refs: dict[tuple[str, int], str] | None = None) -> str:
    """``value`` as text for the page (autoescaped by the template)."""
    if value is None or value == "" or value == []:
        return ""
    widget = form_field.widget
    if widget == "checkbox":
        return ui.gettext("Yes") if value else ui.gettext("No")
    if widget == "date":
        return ui.fmt.date(value)
    if widget == "datetime":
        return ui.fmt.datetime(value)
    if widget == "money":
        return ui.fmt.money(value, form_field.extra.get("currency", "CNY"))
    if widget in ("number", "integer"):
        return ui.fmt.number(value)
    if widget == "list" and isinstance(value, list):
        if form_field.reference:
            return ", ".join((refs or {}).get((form_field.reference, v), f"#{v}") for v in value)
        return ", ".join(map(str, value))
    if widget == "multiselect":
        return ", ".join(form_field.choice_label(v, ui.locale, ui.gettext) for v in value)
    if widget == "select":
        return form_field.choice_label(value, ui.locale, ui.gettext)
    if widget == "reference" and isinstance(value, int):
        return (refs or {}).get((form_field.reference or "", value), f"#{value}")
    if widget == "password":
        return ""
    return str(value)


def phone_href(value: Any) -> str:
    """A ``tel:`` link's number: the digits, with a leading ``+`` if the number has one."""
    text = str(value or "")
    digits = "".join(c for c in text if c.isdigit())
    return ("+" if text.strip().startswith("+") else "") + digits
