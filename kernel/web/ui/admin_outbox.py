"""``/admin/outbox``: how event delivery stands (:mod:`kernel.outbox`), for admins.

One card per subscriber (a plugin implementing ``on_event``): commits not yet taken, events
being retried, dead letters, the dispatcher delivering now. Below, the dead letters, newest
first, twenty a page, filtered by subscriber, each with "Deliver again" — the page twin of
``GET /api/v1/outbox/dead`` and ``POST /api/v1/outbox/dead/{id}/retry``.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from ... import outbox
from ...parsing import optional_id
from .context import ui_for
from .session import check_csrf

PAGE = 20


async def outbox_page(request: Request) -> Response:
    ui = ui_for(request)
    ui.require_admin()
    subscribers = outbox.status(ui.site)
    names = [s["name"] for s in subscribers]
    chosen = request.query_params.get("subscriber") or ""
    if chosen not in names:
        chosen = ""
    offset = optional_id(request.query_params.get("offset") or "") or 0
    letters, total = outbox.dead_letters(ui.site, subscriber=chosen or None, limit=PAGE, offset=offset)
    return ui.render(
        "admin/outbox.html",
        subscribers=subscribers,
        letters=letters,
        total=total,
        chosen=chosen,
        newer=max(offset - PAGE, 0) if offset else None,
        older=offset + PAGE if offset + PAGE < total else None,
        retried=optional_id(request.query_params.get("retried") or ""),
        missing=request.query_params.get("missing") == "1",
        keep_days=outbox.KEEP_DAYS,
    )


async def retry_letter(request: Request) -> Response:
    """``POST /admin/outbox/dead/ID/retry``: deliver that dead letter again at the next pass."""
    ui = ui_for(request)
    ui.require_admin()
    form = await request.form()
    check_csrf(request, form)
    letter = optional_id(request.path_params["id"])
    back = str(form.get("subscriber") or "")
    query = f"&subscriber={back}" if back else ""
    if letter is None or not outbox.retry(ui.site, letter):
        return ui.redirect(f"/admin/outbox?missing=1{query}")
    return ui.redirect(f"/admin/outbox?retried={letter}{query}")
