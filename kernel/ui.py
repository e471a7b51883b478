"""Helpers for a plugin's own web pages (``register_pages``), the public part of the web UI.

A page is a Starlette endpoint served under ``/p/NAME/...`` to signed-in users::

    from kernel.ui import check_form, render, ui_of

    async def board(request):
        ui = ui_of(request)                       # .actor, .site, .locale, .gettext, .fmt, .tzinfo
        if request.method == "POST":
            form = await check_form(request)      # the CSRF check first
            ...
        notes = ui.site.records.list(ui.actor, "notes")
        return render(request, "notes/board.html", notes=notes.items)

Showing records: :func:`display_fields` describes the fields a page shows
(:class:`FormField`), :func:`raw_value` reads one from a record, :func:`show`
formats it for the reader's language and time zone (references as names from
:func:`reference_labels`), :func:`record_title` names a record.

A page's own form of some fields (``kernel:_fields.html``'s ``input`` macro draws each):
:func:`form_values` gives what each input starts with, :func:`read_form` turns the posted
form into record values (as the generic forms do), and :func:`errors_by_field` sorts a
refusal's details into the fields they name and the rest.

A plugin's own board using ``static/ui/kanban.js`` answers a refused move with the inputs to ask
(:func:`board_asked`, the refusal's ``ask``) and reads the answers posted back (:func:`board_answers`).
"""

from .fielddescriptions import FormField, display_fields
from .web.ui import check_form, render, ui_of
from .web.ui.context import UI
from .web.ui.display import raw_value, record_title, reference_labels, show
from .web.ui.forms import errors_by_field, form_values, read_form
from .web.ui.kanban import answers as board_answers
from .web.ui.kanban import asked as board_asked

__all__ = [
    "board_answers",
    "board_asked",
    "check_form",
    "display_fields",
    "errors_by_field",
    "form_values",
    "FormField",
    "raw_value",
    "read_form",
    "record_title",
    "reference_labels",
    "render",
    "show",
    "UI",
    "ui_of",
]
