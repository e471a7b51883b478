"""A record's changes and activity as the detail page shows them.

The History tab lists every audit entry with each change in full; the Activity
tab pages through :func:`kernel.activity.record_activity` (the record's changes
merged with what plugins add) and shows each change in short. Both show values
like the field itself: dates, money, and referenced records by name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ... import activity
from ...parsing import INT64_MAX, optional_int
from ...masking import MASKED
from .audit_words import action_name
from .display import hidden_mark, reference_labels, show
from ...fielddescriptions import FormField, form_fields, humanize

if TYPE_CHECKING:
    from ...entities import Entity
    from .context import UI

ACTIVITY_PAGE = 20
SHORT_CHANGES = 3  # changes an Activity entry shows before "and N more"
MAX_OFFSET = activity.MAX_OFFSET


def N_(message: str) -> str:
    """Mark a string for the catalog without translating it here."""
    return message


AUDIT_ACTIONS = {"create": N_("Created"), "update": N_("Changed"), "delete": N_("Deleted")}


def change_pairs(entry: dict[str, Any]) -> list[tuple[str, tuple[Any, Any]]]:
    """An audit entry's ``changes`` as ``(key, (old, new))`` pairs, by key."""
    changes = entry.get("changes") or {}
    return [(k, (v[0], v[1])) for k, v in sorted(changes.items()) if k != MASKED and isinstance(v, list | tuple) and len(v) == 2]


def _as_values(fields: dict[str, FormField], change: tuple[str, tuple[Any, Any]]) -> list[dict[str, Any]]:
    """Both sides of one change shaped like records, to look up the names of referenced records."""
    key, sides = change
    form_field = fields.get(key)
    if form_field is None or form_field.widget != "reference":
        return []
    return [{"custom": {form_field.name: v}} if form_field.custom else {form_field.name: v} for v in sides if isinstance(v, int)]


def shown_value(ui: UI, form_field: FormField | None, value: Any, refs: dict[tuple[str, int], str]) -> str:
    """One side of a change as text; a value the field cannot format (an old shape, say) is shown plain."""
    if form_field is None:
        return _plain(value)
    if form_field.widget == "reference" and isinstance(value, int):
        return refs.get((form_field.reference or "", value), f"#{value}")
    try:
        return show(ui, form_field, value, refs)
    except (ValueError, TypeError, ArithmeticError):
        return _plain(value)


def _plain(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value)


def change_rows(ui: UI, entity: Entity, entries: list[dict[str, Any]]) -> list[list[dict[str, str]]]:
    """For each audit entry (or its ``changes`` holder), its changes as ``{"field", "old", "new"}`` texts."""
    fields = {f.key: f for f in form_fields(ui.view, entity)}
    values = [side for entry in entries for change in change_pairs(entry) for side in _as_values(fields, change)]
    refs = reference_labels(ui, list(fields.values()), values)
    return [
        [
            {
                "field": fields[key].label_text(ui.locale, ui.gettext) if key in fields else ui.gettext(humanize(key)),
                "old": (hidden_mark(ui) if entry.get("action") != "create" else "") if key in masked else shown_value(ui, fields.get(key), old, refs),
                "new": hidden_mark(ui) if key in masked else shown_value(ui, fields.get(key), new, refs),
            }
            for key, (old, new) in change_pairs(entry)
        ]
        for entry in entries
        for masked in [set((entry.get("changes") or {}).get(MASKED) or ())]
    ]


def history(ui: UI, entity: Entity, record: dict[str, Any]) -> list[dict[str, Any]]:
    """The record's audit entries for the History tab, each change shown like the field itself."""
    entries = ui.site.records.history(ui.actor, entity.name, record["id"], limit=100)
    for entry, rows in zip(entries, change_rows(ui, entity, entries)):
        entry["rows"] = rows
        entry["body"] = (entry.get("changes") or {}).get("body")
        entry["action_label"] = action_name(ui, entity.name, entry["action"])  # a plugin's action by its label
    return entries


def parse_offset(text: str | None) -> int:
    """A page offset from the query string; anything odd means the first page."""
    return min(optional_int(text, low=0, high=INT64_MAX) or 0, MAX_OFFSET)


def activity_page(ui: UI, entity: Entity, record: dict[str, Any], offset: int) -> dict[str, Any]:
    """One page of the Activity tab: entries ready to show, and the offset of the next page."""
    page = activity.record_activity(ui.site, ui.actor, entity.name, record["id"], limit=ACTIVITY_PAGE, offset=offset)
    items = page["items"]
    rows = iter(change_rows(ui, entity, [item["data"] for item in items if item["kind"] == activity.CHANGE]))
    entries = [_entry(ui, entity, record, item, next(rows) if item["kind"] == activity.CHANGE else None) for item in items]
    return {"entries": entries, "offset": offset, "next_offset": page["next_offset"]}


def _entry(ui: UI, entity: Entity, record: dict[str, Any], item: dict[str, Any], rows: list[dict[str, str]] | None) -> dict[str, Any]:
    target, target_id = item.get("entity"), item.get("record_id")
    is_self = target == entity.name and target_id == record["id"]
    link = f"/r/{target}/{target_id}" if target and target_id and not is_self and target in ui.view.entities else None
    shown = {"at": item["at"], "kind": item["kind"], "link": link, "changes": [], "more": 0, "by": None, "body": ""}
    kind = item["kind"]
    if kind != activity.CHANGE:  # a plugin's word; its catalog may translate it
        return {**shown, "kind_label": ui.gettext(kind), "title": item.get("title") or ""}
    data = item["data"]
    action = data.get("action", item.get("title", ""))
    declared = entity.action(action)
    title = ui.label(declared.label, action) if declared else ui.gettext(AUDIT_ACTIONS[action]) if action in AUDIT_ACTIONS else action
    rows = [row for row in rows or [] if row["old"] or row["new"]]  # a new record's empty fields say nothing
    body = (data.get("changes") or {}).get("body")
    return {
        **shown,
        "kind_label": ui.gettext("Change"),
        "title": title,
        "by": ui.gettext("by %(who)s via %(channel)s", who=data.get("actor", ""), channel=data.get("channel", "")),
        "changes": rows[:SHORT_CHANGES],
        "more": max(0, len(rows) - SHORT_CHANGES),
        "body": " · ".join(f"{k}: {_plain(v)}" for k, v in body.items()) if isinstance(body, dict) else "",
    }
