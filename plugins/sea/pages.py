"""The plugin's page under ``/p/sea``: the move-in page of sea admins (customers by ids or by filter). The sea
list with its Claim buttons, "my customers" with days left, the release dialog and the sea's rules form are the
pools' generic pages (``/p/pools``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from kernel import RecordError, optional_id
from kernel.ui import check_form, render, ui_of
from plugins.pools import is_admin

from .entering import move_in

if TYPE_CHECKING:
    from kernel.ui import UI

FILTERS = ("region", "level", "status", "industry", "source")
FILTER_LABELS = {
    "region": {"en": "Region (code)", "zh_CN": "地区（代码）"}, "level": {"en": "Level (code)", "zh_CN": "级别（代码）"},
    "status": {"en": "Status (code)", "zh_CN": "状态（代码）"}, "industry": {"en": "Industry (code)", "zh_CN": "行业（代码）"},
    "source": {"en": "Source (code)", "zh_CN": "来源（代码）"},
}


def pages() -> list[BaseRoute]:
    both = ["GET", "POST"]
    return [Route("/move", move_page, methods=both)]


def _refusal(ui: UI, exc: RecordError) -> str:
    explained = ui.explain(exc, "customers")
    details = [d.get("msg") for d in explained.details or [] if d.get("msg")]
    text = str(explained.message)
    return f"{text} {details[0]}" if details and str(details[0]) not in text else text


async def move_page(request: Request) -> Response:
    """Sea admins move customers into a sea: ticked ids (``?ids=1,2``) or every customer matching a filter."""
    ui = ui_of(request)
    site, actor = ui.site, ui.actor
    seas = [s for s in site.records.list(actor, "seas", sort=["name", "id"], limit=200).items if is_admin(s, actor)]
    values: dict[str, Any] = {"ids": request.query_params.get("ids", "")}
    error, moved, status = None, None, 200
    if request.method == "POST":
        form = await check_form(request)
        values = {name: str(form.get(name) or "").strip() for name in ("sea_id", "ids", "reason", *FILTERS)}
        ids = [optional_id(part) for part in values["ids"].replace("，", ",").split(",") if part.strip()]
        where = {name: values[name] for name in FILTERS if values[name]}
        sea_id = optional_id(values["sea_id"])
        if sea_id is None:
            error, status = ui.gettext("Choose the sea to move the customers into."), 422
        elif None in ids:
            error, status = ui.gettext("Customer ids are numbers separated by commas."), 422
        elif not ids and not where:
            error, status = ui.gettext("Give the customers' ids or at least one filter."), 422
        elif ids and where:
            error, status = ui.gettext("Give either the customers' ids or a filter, not both."), 422
        else:
            try:
                moved = len(move_in(site, actor, sea_id, ids=ids or None, where=where or None, reason=values["reason"] or None))
            except RecordError as exc:
                error, status = _refusal(ui, exc), exc.status
    response = render(request, "sea/move.html", seas=seas, values=values, filters=[(n, ui.label(FILTER_LABELS[n], n)) for n in FILTERS], error=error, moved=moved)
    response.status_code = status
    return response
