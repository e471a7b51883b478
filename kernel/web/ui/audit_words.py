"""The audit log in words: who (by name) did what (an action's name) to which record (by its title),
and each change with the field's label and its values formatted for the reader.

Used by :mod:`.admin_audit` for the page and its CSV download. Every lookup is
one query per entity for a page of entries, never one per entry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from ...entities import title_column
from ...fielddescriptions import N_, FormField, form_fields, humanize
from ...models import User
from .context import UI
from .display import reference_labels, show

#: What the kernel's own audit actions are called; an entity's actions use their labels.
ACTION_NAMES = {
    "create": N_("Created"), "update": N_("Changed"), "delete": N_("Deleted"), "restore": N_("Restored"),
    "purge": N_("Deleted for good"), "login": N_("Signed in"), "login_failed": N_("Sign-in failed"),
    "logout": N_("Signed out"), "token_create": N_("API token created"), "token_revoke": N_("API token revoked"),
    "enable": N_("Enabled"), "disable": N_("Disabled"), "reset": N_("Reset"), "export": N_("Exported"),
    "file_added": N_("File attached"), "file_removed": N_("File removed"), "merged_into": N_("Merged into another record"),
    "unmerged": N_("Merge undone"), "transition": N_("State changed"), "reminder_failed": N_("Reminder failed"), "reminder_email_failed": N_("Reminder email failed"),
}
#: How a change came in.
CHANNEL_NAMES = {
    "api": N_("API"), "ui": N_("Web"), "import": N_("Import"), "job": N_("Scheduled job"), "cli": N_("Command line"),
    "system": N_("System"), "public": N_("Public form"),
}
#: Audit entries about things that are not entities.
SYSTEM_ENTITIES = {
    "audit": N_("Audit log"), "custom_fields": N_("Custom fields"), "plugins": N_("Plugins"), "settings": N_("Settings"),
    "forms": N_("Web forms"), "dashboards": N_("Dashboards"), "sequences": N_("Number sequences"), "states": N_("States"),
}


def channel_names(ui: UI) -> dict[str, str]:
    return {name: ui.gettext(text) for name, text in CHANNEL_NAMES.items()}


def entity_name(ui: UI, name: str) -> str:
    """An entity (or a system part such as ``settings``) by its name in the reader's language."""
    entity = ui.view.entity(name)
    if entity is not None:
        return ui.label(entity.label, name)
    return ui.gettext(SYSTEM_ENTITIES[name]) if name in SYSTEM_ENTITIES else humanize(name)


def action_name(ui: UI, entity: str, action: str) -> str:
    """An action in words: the kernel's own, else the entity's action label, else its name made readable."""
    if action in ACTION_NAMES:
        return ui.gettext(ACTION_NAMES[action])
    found = ui.view.entity(entity)
    for candidate in (found.actions if found is not None else ()):
        if candidate.name == action:
            return ui.label(candidate.label, action)
    return ui.gettext(humanize(action))


@dataclass
class Change:
    """One change of an entry: the field's label, and the old and new values as text."""

    key: str
    label: str
    old: str
    new: str


@dataclass
class Entry:
    """One audit entry as the page shows it."""

    row: dict[str, Any]
    who: str
    who_link: str | None
    what: str
    kind: str
    record: str
    link: str | None
    changes: list[Change] = field(default_factory=list)


class Wording:
    """Everything needed to put a page of audit entries into words, looked up once."""

    def __init__(self, ui: UI, rows: list[dict[str, Any]]):
        self.ui = ui
        self.fields: dict[str, dict[str, FormField]] = {}
        for name in {row["entity"] for row in rows}:
            entity = ui.view.entity(name)
            self.fields[name] = {f.key: f for f in form_fields(ui.view, entity)} if entity is not None else {}
        self.people = people_names(ui, {row["actor_id"] for row in rows if row["actor_id"]} | self._user_refs(rows))
        self.titles = self._titles(rows)
        self.refs = self._refs(rows)

    def _user_refs(self, rows: list[dict[str, Any]]) -> set[int]:
        return {row["record_id"] for row in rows if row["entity"] == "users" and row["record_id"]}

    def _titles(self, rows: list[dict[str, Any]]) -> dict[tuple[str, int], str]:
        """Each audited record's title: stored now, else as the entry last saw it (a deleted record)."""
        wanted: dict[str, set[int]] = {}
        for row in rows:
            if row["record_id"] and self.ui.view.entity(row["entity"]) is not None:
                wanted.setdefault(row["entity"], set()).add(row["record_id"])
        titles: dict[tuple[str, int], str] = {}
        for name, ids in wanted.items():
            entity = self.ui.view.entity(name)
            column = title_column(entity) if entity is not None else None
            if entity is None or column is None:
                continue
            query = sa.select(entity.table.c.id, entity.table.c[column]).where(entity.table.c.id.in_(ids))
            with self.ui.site.engine.connect() as conn:
                titles.update({(name, row[0]): str(row[1]) for row in conn.execute(query) if row[1] not in (None, "")})
        for row in rows:
            key = (row["entity"], row["record_id"])
            entity = self.ui.view.entity(row["entity"])
            column = title_column(entity) if entity is not None else None
            change = (row.get("changes") or {}).get(column) if column else None
            if key not in titles and isinstance(change, list) and len(change) == 2 and (change[1] or change[0]):
                titles[key] = str(change[1] or change[0])
        return titles

    def _refs(self, rows: list[dict[str, Any]]) -> dict[tuple[str, int], str]:
        """Titles of the records that changed reference fields point at (one query per target entity)."""
        refs: dict[tuple[str, int], str] = {}
        for name, fields in self.fields.items():
            linked = [f for f in fields.values() if f.reference]
            if not linked:
                continue
            values = []
            for row in rows:
                if row["entity"] != name:
                    continue
                for key, pair in (row.get("changes") or {}).items():
                    if key in fields and fields[key].reference and isinstance(pair, list) and len(pair) == 2:
                        values += [{"custom": {fields[key].name: v}, fields[key].name: v} for v in pair if v is not None]
            if values:
                refs.update(reference_labels(self.ui, linked, values))
        return refs

    def entry(self, row: dict[str, Any]) -> Entry:
        ui = self.ui
        who = self.people.get(row["actor_id"]) or (
            self.ui.gettext(CHANNEL_NAMES[row["actor"]]) if row["actor"] in CHANNEL_NAMES else row["actor"]
        )
        who_link = f"/r/users/{row['actor_id']}" if row["actor_id"] and ui.view.entity("users") is not None else None
        record_id = row["record_id"]
        title = self.titles.get((row["entity"], record_id)) if record_id else None
        if row["entity"] == "users" and record_id:
            title = self.people.get(record_id) or title
        record = title or (f"#{record_id}" if record_id else "")
        link = f"/r/{row['entity']}/{record_id}" if record_id and ui.view.entity(row["entity"]) is not None else None
        return Entry(row, who, who_link, action_name(ui, row["entity"], row["action"]), entity_name(ui, row["entity"]), record, link,
                     self.changes(row))

    def changes(self, row: dict[str, Any]) -> list[Change]:
        fields = self.fields.get(row["entity"], {})
        found = []
        for key, value in sorted((row.get("changes") or {}).items()):
            form_field = fields.get(key)
            pair = value if isinstance(value, list) and len(value) == 2 and form_field is not None else None
            label = form_field.label_text(self.ui.locale, self.ui.gettext) if form_field is not None else self.ui.gettext(humanize(key))
            if isinstance(value, list) and len(value) == 2 and value[0] in (None, "", []) and value[1] in (None, "", [], False):
                continue  # created empty: nothing to read
            if pair is not None:
                found.append(Change(key, label, self.value(form_field, pair[0]), self.value(form_field, pair[1])))
            elif isinstance(value, list) and len(value) == 2:
                found.append(Change(key, label, plain(value[0], self.ui), plain(value[1], self.ui)))
            else:
                found.append(Change(key, label, "", plain(value, self.ui)))
        return found

    def value(self, form_field: FormField | None, value: Any) -> str:
        if form_field is None:
            return plain(value, self.ui)
        try:
            return show(self.ui, form_field, value, self.refs)
        except (TypeError, ValueError, ArithmeticError):  # a value stored before today's rules: as it is
            return plain(value, self.ui)


def plain(value: Any, ui: UI) -> str:
    """A value with no field to describe it: yes/no, lists joined, objects as ``key: value``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return ui.gettext("Yes") if value else ui.gettext("No")
    if isinstance(value, list):
        return "、".join(plain(v, ui) for v in value) if ui.locale == "zh_CN" else ", ".join(plain(v, ui) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{ui.gettext(humanize(str(k)))}: {plain(v, ui)}" for k, v in value.items())
    return str(value)


def people_names(ui: UI, ids: set[int]) -> dict[int, str]:
    """``{user id: name}`` (the email where a user has no name), one query."""
    if not ids:
        return {}
    with ui.site.engine.connect() as conn:
        rows = conn.execute(sa.select(User.id, User.name, User.email).where(User.id.in_(ids)))
        return {row.id: row.name or row.email for row in rows}


def people_choices(ui: UI) -> list[tuple[int, str]]:
    """Everyone who may appear in the log, by name, for the "who" filter."""
    with ui.site.engine.connect() as conn:
        rows = conn.execute(sa.select(User.id, User.name, User.email).order_by(User.name, User.email))
        return [(row.id, f"{row.name} ({row.email})" if row.name else row.email) for row in rows]
