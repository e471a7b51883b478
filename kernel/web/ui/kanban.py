"""The board's answers to a script: a card moved by drag and drop, or refused and sent back.

``static/ui/kanban.js`` posts the same form the select + Move button does, with
``Accept: application/json``; these are the JSON answers it reads. The refusal
keeps the API's error envelope and adds ``message``, a sentence in the user's
language for the board's alert region.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request

from ...messages import public_details
from ..payload import JSON
from .display import record_title

if TYPE_CHECKING:
    from ...entities import Entity
    from ...errors import RecordError
    from .context import UI
    from ...fielddescriptions import FormField


def wants_json(request: Request) -> bool:
    """A script's request (``fetch`` asking for JSON, or htmx) rather than a form a person submitted."""
    return "application/json" in request.headers.get("accept", "") or request.headers.get("hx-request") == "true"


def moved(ui: UI, entity: Entity, board: FormField, record: dict[str, Any]) -> JSON:
    value = record.get(board.name)
    column = board.choice_label(value, ui.locale, ui.gettext)
    message = ui.gettext("Moved %(name)s to %(column)s.", name=record_title(entity, record), column=column)
    return JSON({"id": record["id"], "field": board.name, "value": value, "message": message})


def refused(ui: UI, exc: RecordError) -> JSON:
    if exc.status == 404:
        reason = ui.gettext("It no longer exists, or you may not see it.")
    elif exc.status == 403:
        reason = ui.gettext("You may not do this.")
    else:
        reason = str(exc.details[0].get("msg", exc.message)) if exc.details else exc.message
    message = ui.gettext("That card could not be moved.") + " " + reason
    body = {"error": {"code": exc.code, "message": exc.message, "details": public_details(exc.details)}, "message": message}
    return JSON(body, status_code=exc.status)
