"""What every generic page about an entity shares: the entity and id from the path,
template names, the template context every page gets, and the board's grouping field."""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request

from ... import children, permissions
from ...errors import NotFound, RecordError
from ...fielddescriptions import FormField
from ...parsing import optional_id
from .context import UI
from .display import phone_href, raw_value, show, titled

WRITES = ("create", "update", "delete")
ID = re.compile(r"^[1-9][0-9]{0,17}$")


def entity_of(ui: UI, request: Request) -> Any:
    name = request.path_params["entity"]
    entity = ui.view.entity(name)
    if entity is None:
        raise NotFound(f"no entity named {name!r}")
    return entity


def id_of(request: Request) -> int:
    text = request.path_params["id"]
    found = optional_id(text)
    if found is None:
        raise NotFound(f"no record {text!r}")
    return found


def templates_for(entity: Any, page: str) -> list[str]:
    return [f"{entity.name}/{page}", page]


def choices_for(ui: UI, fields: list[FormField]) -> dict[str, list[tuple[str, str]]]:
    """Options of selects whose choices are another entity's names (a user's role, say)."""
    found: dict[str, list[tuple[str, str]]] = {}
    for form_field in fields:
        source = form_field.extra.get("choices_from")
        if not source or source not in ui.view.entities:
            continue
        try:
            page = ui.site.records.list(ui.actor, source, sort="name", limit=200)
        except RecordError:
            continue
        found[form_field.key] = [(row["name"], ui.label(row.get("label"), row["name"]) or row["name"]) for row in page.items]
    return found


def common(ui: UI, entity: Any) -> dict[str, Any]:
    return {
        "entity": entity,
        "entity_label": ui.label(entity.label, entity.name),
        "entity_plural": ui.label(entity.label_plural, entity.name),
        "can": lambda action: allowed(ui, entity.name, action),
        "show": lambda f, value, refs=None: show(ui, f, value, refs),
        "raw_value": raw_value,
        "record_title": lambda record: titled(ui, entity, record),
        "field_label": lambda f: f.label_text(ui.locale, ui.gettext),
        "phone_href": phone_href,
    }


def allowed(ui: UI, entity: str, action: str) -> bool:
    """Whether the signed-in user may ``action`` records of ``entity`` (child rows are written
    through their parent's form only: no New, Edit or Delete of their own)."""
    if action in WRITES and children.parent_of(ui.view, entity) is not None:
        return False
    return permissions.allowed(ui.site, ui.actor, entity, action)


def kanban_field(fields: list[FormField]) -> FormField | None:
    """The field a board groups by: a built-in ``stage`` or ``status`` with fixed choices."""
    for name in ("stage", "status"):
        for form_field in fields:
            if form_field.name == name and not form_field.custom and form_field.widget == "select" and form_field.choices:
                return form_field
    return None
