"""A record page people work in: its summary header, quick "log activity" boxes, inline edit of
one field, and going back to the page a record was created from.

* The summary header shows the record's title (:attr:`~kernel.entities.Entity.title_field`), its
  state as a badge (the state machine's field, else a ``status``/``stage`` choice), its owner and
  the entity's key figures (:attr:`~kernel.entities.Entity.summary_fields`).
* Plugins add "log activity" boxes with ``extra_record_log_forms``: a few inputs of another
  entity, posted to that entity's generic create form with ``_back`` set to this page.
* ``POST /r/E/ID/inline`` changes one field (``_field``) with the version the page was read at
  (``_version``, an ETag, :mod:`kernel.versions`); a record changed meanwhile is refused (409) and
  the page says so, showing the current values.
* ``_back`` (a local path, in the query string of ``/r/E/new`` or in its form) is where a create
  lands: the parent's page when a contact, follow-up or task is added from it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from ... import permissions
from ...errors import NotFound, RecordError
from ...fielddescriptions import FormField, form_fields
from ...versions import EditConflict
from .display import raw_value, show, title_column
from .entitypage import allowed, entity_of, id_of, kanban_field
from .forms import errors_by_field, form_values, read_form
from .session import check_csrf

if TYPE_CHECKING:
    from ...entities import Entity
    from .context import UI

#: widgets a field can be changed with right on the record page
INLINE_WIDGETS = ("text", "email", "tel", "url", "select", "date", "datetime", "integer", "number", "money", "checkbox", "reference")
QUICK_CREATE_WIDGETS = ("text", "email", "tel")


# -- going back after a create ------------------------------------------------------------


def back_target(value: Any) -> str | None:
    """A local page to return to (``/r/accounts/7``), or ``None`` for anything else."""
    text = value if isinstance(value, str) else ""
    if not text.startswith("/") or text.startswith("//") or any(c in text for c in "\\\r\n\x00") or len(text) > 500:
        return None
    return text


def landing(back: str | None, saved_id: int, entity: Entity, warnings_query: str) -> str:
    """Where a successful create goes: back to ``back`` (saying what was added), unless the new
    record may be a duplicate, whose warning is shown on its own page."""
    if back is None or warnings_query:
        return f"/r/{entity.name}/{saved_id}?saved=1{warnings_query}"
    path, _, query = back.partition("?")
    added = urlencode({"added": entity.name, "added_id": saved_id})
    return f"{path}?{query + '&' if query else ''}{added}"


def added_notice(ui: UI, params: Any) -> dict[str, Any] | None:
    """What the page says after a record was added from it (``?added=E&added_id=ID``)."""
    name, record_id = params.get("added"), params.get("added_id", "")
    entity = ui.view.entity(name) if isinstance(name, str) else None
    if entity is None or not record_id.isdigit():
        return None
    thing = ui.label(entity.label, entity.name)
    return {"text": ui.gettext("%(thing)s added.", thing=thing), "url": f"/r/{entity.name}/{record_id}", "link": ui.gettext("Open it")}


# -- quick create on a list ---------------------------------------------------------------


def quick_create_field(ui: UI, entity: Entity) -> FormField | None:
    """The title field, when a record can be created from it alone and the user may create one."""
    if not allowed(ui, entity.name, "create"):
        return None
    title = title_column(entity)
    fields = form_fields(ui.view, entity)
    field = next((f for f in fields if f.name == title and not f.custom), None)
    if field is None or field.widget not in QUICK_CREATE_WIDGETS:
        return None
    if any(f.required and f is not field for f in fields) or entity.children:
        return None
    return field


# -- the summary header --------------------------------------------------------------------


def summary(ui: UI, entity: Entity, record: dict[str, Any], fields: list[FormField], refs: dict[Any, str]) -> dict[str, Any]:
    """The header's badge, owner and key figures (each ``{"label", "text", "field"}``), empty ones left out."""
    by_key = {f.key: f for f in fields}
    machine = entity.states
    state = by_key.get(machine.field) if machine is not None else kanban_field(fields)
    badge = show(ui, state, raw_value(state, record)) if state is not None else ""
    owner_field = by_key.get(entity.owner_field or "")
    owner = show(ui, owner_field, raw_value(owner_field, record), refs) if owner_field is not None else ""
    figures = []
    for key in entity.summary_fields:
        field = by_key.get(key)
        if field is None:
            continue
        value = raw_value(field, record)
        text = show(ui, field, value, refs)
        if text:
            figures.append({"label": field.label_text(ui.locale, ui.gettext), "text": text, "field": field, "value": value})
    return {
        "badge": badge,
        "state_key": raw_value(state, record) if state is not None else None,
        "owner": owner,
        "owner_label": owner_field.label_text(ui.locale, ui.gettext) if owner_field is not None else "",
        "figures": figures,
    }


# -- quick "log activity" boxes ------------------------------------------------------------


def log_forms(ui: UI, entity: Entity, record: dict[str, Any]) -> list[dict[str, Any]]:
    """The boxes plugins offer for this record, each with its inputs, for users who may create there."""
    boxes = []
    asked = ui.view.pm.hook.extra_record_log_forms(site=ui.site, actor=ui.actor, entity=entity.name, record=record)
    for found in asked:
        for box in found or ():
            target = ui.view.entity(box.get("entity", "")) if isinstance(box, dict) else None
            if target is None or not permissions.allowed(ui.site, ui.actor, target.name, "create"):
                continue
            by_key = {f.key: f for f in form_fields(ui.view, target)}
            inputs = [by_key[k] for k in box.get("fields", ()) if k in by_key]
            fixed = {k: v for k, v in (box.get("values") or {}).items() if isinstance(k, str)}
            boxes.append({
                "id": f"log-{target.name}",
                "label": ui.label(box.get("label"), target.name),
                "action": f"/r/{target.name}/new",
                "fields": [f for f in inputs if f.key not in fixed],
                "initial": form_values(None, inputs, ui.tzinfo),
                "fixed": fixed,
                "back": f"/r/{entity.name}/{record['id']}",
            })
    return boxes


# -- inline edit ---------------------------------------------------------------------------


def inline_fields(ui: UI, entity: Entity, writable: bool) -> set[str]:
    """Keys of the fields the user may change right on the record page."""
    if not writable or not allowed(ui, entity.name, "update"):
        return set()
    machine_field = entity.states.field if entity.states is not None else None
    return {
        f.key for f in form_fields(ui.view, entity)
        if f.widget in INLINE_WIDGETS and not f.read_only and f.name not in (entity.owner_field, machine_field)
        and not (f.name in entity.numbered and not f.custom)
    }


async def inline_edit(request: Request) -> Response:
    """Change one field of a record from its page, refusing the change if the record moved on since."""
    from .context import ui_for
    from .records_views import render_detail

    ui = ui_for(request)
    entity = entity_of(ui, request)
    record = ui.site.records.get(ui.actor, entity.name, id_of(request))
    form = await request.form()
    check_csrf(request, form)
    key = form.get("_field")
    writable = not entity.parents or ui.site.records.writable(ui.actor, entity.name, record["id"])
    field = next((f for f in form_fields(ui.view, entity) if f.key == key), None)
    if field is None or key not in inline_fields(ui, entity, writable):
        raise NotFound(f"{entity.name} has no field {key!r} to change here")
    data = read_form([field], form, ui.tzinfo, creating=False)
    if field.custom:  # only this custom value changes; the others stay as they are
        data["custom"] = {**(record.get("custom") or {}), **data.get("custom", {})}
    version = form.get("_version")
    try:
        ui.site.records.update(ui.actor, entity.name, record["id"], data, if_match=version if isinstance(version, str) and version else None)
    except EditConflict as exc:
        label = field.label_text(ui.locale, ui.gettext)
        message = ui.gettext("Someone else changed this record after you opened it, so %(field)s was not changed. The page now shows the current values; change it again if you still want to.", field=label)
        return render_detail(ui, entity, exc.record, status_code=exc.status, inline_error={"key": key, "message": message, "conflict": True})
    except RecordError as exc:
        by_field, other = errors_by_field(exc.details)
        message = by_field.get(field.key) or (other[0] if other else exc.message)
        label = field.label_text(ui.locale, ui.gettext)
        return render_detail(ui, entity, record, status_code=exc.status, inline_error={"key": key, "message": f"{label}: {message}", "conflict": False})
    return ui.redirect(f"/r/{entity.name}/{record['id']}?saved=1#field-{field.input_id}")


def inline_values(ui: UI, entity: Entity, record: dict[str, Any], keys: set[str]) -> dict[str, Any]:
    """What each inline input starts with."""
    return form_values(record, [f for f in form_fields(ui.view, entity) if f.key in keys], ui.tzinfo)
