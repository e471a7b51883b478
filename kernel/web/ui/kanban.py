"""The board: what its cards and column headers show, and its answers to a script (a card moved
by drag and drop, or refused and sent back).

An entity declares its cards' fields (:attr:`~kernel.entities.Entity.card_fields`) and the field
each column totals (:attr:`~kernel.entities.Entity.card_total`); the totals are one aggregate
under the reader's record rules, grouped by the board's field, so a column's total counts every
record in it, not only the cards the board shows.

``static/ui/kanban.js`` posts the same form the select + Move button does, with
``Accept: application/json``; these are the JSON answers it reads. The refusal
keeps the API's error envelope and adds ``message``, a sentence in the user's
language for the board's alert region.

A move refused for what it lacks (422: a field required to leave a state, a question a plugin
asks on entering one) carries ``ask`` as well: one input per missing field (:func:`asked`).
The script then opens a dialog with those inputs and posts the move again with the answers
added to the form (the field's key, ``custom.NAME``, or the detail's own ``loc`` joined with
dots); :func:`answers` reads them back. A plugin's refusal asks for something that is not a
field by giving its detail an ``input``: ``{"type": "text"|"number"|"money"|"date"|"choice",
"label": {"en", "zh_CN"}, "options": [...]}``.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from starlette.requests import Request

from ...errors import RecordError
from ...i18n import pick
from ...messages import public_details
from ..payload import JSON
from .display import record_title, show

if TYPE_CHECKING:
    from ...entities import Entity
    from .context import UI
    from ...fielddescriptions import FormField


def wants_json(request: Request) -> bool:
    """A script's request (``fetch`` asking for JSON, or htmx) rather than a form a person submitted."""
    return "application/json" in request.headers.get("accept", "") or request.headers.get("hx-request") == "true"


def card_fields(entity: Entity, fields: list[FormField]) -> list[FormField]:
    """The fields a card shows under its title, as the entity declares them (those not shown to this reader left out)."""
    by_key = {f.key: f for f in fields}
    return [by_key[key] for key in entity.card_fields if key in by_key]


def total_field(entity: Entity, fields: list[FormField]) -> FormField | None:
    """The number or money field the columns total, if the entity declares one."""
    found = next((f for f in fields if f.key == entity.card_total), None) if entity.card_total else None
    return found if found is not None and found.widget in ("integer", "number", "money") else None


def column_totals(ui: UI, entity: Entity, board: FormField, fields: list[FormField]) -> dict[str, str]:
    """Each column's total of :attr:`~kernel.entities.Entity.card_total`, as text (amounts of
    different currencies side by side, never added): ``{"open": "¥1,250.00"}``."""
    total = total_field(entity, fields)
    if total is None:
        return {}
    name = total.name
    try:
        found = ui.site.records.aggregate(ui.actor, entity.name, group_by=[board.name], measures=[f"sum:{name}"])
    except RecordError:
        return {}
    parts: dict[str, list[str]] = {}
    for group in found.groups:
        value = group.get(f"sum:{name}")
        if value is None or group.get("masked"):
            continue
        shown = total
        if group.get("currency"):
            shown = dataclasses.replace(total, extra={**total.extra, "currency": group["currency"]})
        parts.setdefault(str(group["key"]), []).append(show(ui, shown, value))
    return {key: " + ".join(texts) for key, texts in parts.items()}


def moved(ui: UI, entity: Entity, board: FormField, record: dict[str, Any], totals: dict[str, str] | None = None) -> JSON:
    value = record.get(board.name)
    column = board.choice_label(value, ui.locale, ui.gettext)
    message = ui.gettext("Moved %(name)s to %(column)s.", name=record_title(entity, record), column=column)
    body = {"id": record["id"], "field": board.name, "value": value, "message": message}
    if totals is not None:  # the columns' totals after the move, for the headers
        body["totals"] = totals
    return JSON(body)


#: the widget a dialog uses for each ``input`` type a plugin's refusal detail may name
INPUT_WIDGETS = {"text": "textarea", "number": "number", "money": "money", "date": "date", "choice": "select"}


def _detail_key(detail: dict[str, Any]) -> str:
    loc = [str(part) for part in detail.get("loc", [])]
    if loc[:1] == ["body"]:
        loc = loc[1:]
    return ".".join(loc[:2]) if loc[:1] == ["custom"] else ".".join(loc)


def asked(ui: UI, fields: list[FormField], exc: RecordError, *, inputs: bool = False) -> list[dict[str, Any]]:
    """The inputs a dialog asks for a move refused with 422 for what it lacks: one per detail naming
    a field of the entity (``fields``: its form fields) or, with ``inputs`` (a board that reads such
    answers itself), carrying a plugin's ``input``; ``[]`` when the refusal names anything else."""
    if exc.status != 422:
        return []
    by_key = {f.key: f for f in fields}
    found: list[dict[str, Any]] = []
    seen: set[str] = set()
    for detail in exc.details:
        key = _detail_key(detail)
        if not key or key in seen:
            continue
        field = by_key.get(key)
        described = detail.get("input") if isinstance(detail.get("input"), dict) else None
        if field is not None and not field.read_only:
            item: dict[str, Any] = {"name": key, "label": field.label_text(ui.locale, ui.gettext), "widget": field.widget}
            if field.choices:
                item["choices"] = [[c, field.choice_label(c, ui.locale, ui.gettext)] for c in field.choices]
        elif inputs and described is not None and described.get("type") in INPUT_WIDGETS:
            item = {"name": key, "label": pick(described.get("label"), ui.locale, key), "widget": INPUT_WIDGETS[described["type"]]}
            if described.get("options"):
                item["choices"] = [[str(o), str(o)] for o in described["options"]]
        else:
            return []  # something the dialog cannot ask: the refusal stands as it is
        item["message"] = str(detail.get("msg", ""))
        seen.add(key)
        found.append(item)
    return found


def answers(fields: list[FormField], form: Any, tzinfo: Any, *, skip: str = "") -> dict[str, Any]:
    """The values a dialog added to a move's form, for the fields among ``fields`` it carries
    (``skip``: the board's own field), as record data for ``Records.update``."""
    from .forms import read_form

    carried = [f for f in fields if f.key != skip and not f.read_only and f.key in form]
    return read_form(carried, form, tzinfo, creating=False) if carried else {}


def refused(ui: UI, exc: RecordError, ask: list[dict[str, Any]] | None = None) -> JSON:
    if exc.status == 404:
        reason = ui.gettext("It no longer exists, or you may not see it.")
    elif exc.status == 403:
        reason = ui.gettext("You may not do this.")
    else:
        reason = str(exc.details[0].get("msg", exc.message)) if exc.details else exc.message
    message = ui.gettext("That card could not be moved.") + " " + reason
    body: dict[str, Any] = {"error": {"code": exc.code, "message": exc.message, "details": public_details(exc.details)}, "message": message}
    if ask:
        body["ask"] = ask
        body["message"] = ui.gettext("This move needs more information.")
    return JSON(body, status_code=exc.status)
