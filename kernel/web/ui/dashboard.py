"""The dashboard: the widgets enabled plugins register, for the signed-in user's role.

A widget listed for some roles is on those roles' dashboards (admins see every
widget), unless an admin chose the role's widgets (``/admin/dashboards``); one with a
``permission`` is hidden from users who lack it. A date range
(``?period=``) narrows the widgets that are ``dated``; the others say they are not filtered by date. A widget
whose ``data`` fails is shown as unavailable and logged; the page still renders.
Above the widgets, a count of the records of each entity the user can read.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ... import layouts, permissions
from ...dashboards import PERIODS, Period
from ...audit import jsonable
from ...errors import RecordError
from .context import UI, ui_for
from .menu import ADMIN_ENTITIES

log = logging.getLogger(__name__)


def visible_widgets(ui: UI) -> list[Any]:
    """The widgets of the user's dashboard: their role's layout when an admin chose one
    (:mod:`kernel.layouts`), else the plugins' choice; a widget's permission applies either way."""
    grants = permissions.grants(ui.site, ui.actor.role)
    widgets = layouts.registered_widgets(ui.site)
    chosen = layouts.layout_of(ui.site, ui.actor.role)
    if chosen is not None:
        picked = [widgets[name] for name in chosen if name in widgets]
    else:
        picked = [w for w in widgets.values() if ui.is_admin or not w.roles or ui.actor.role in w.roles]
    return [w for w in picked if ui.is_admin or not w.permission or grants.allows(w.permission)]


def widget_data(ui: UI, widget: Any, period: Period | None = None) -> dict[str, Any] | None:
    try:
        dated = {"period": period} if widget.dated and period is not None else {}
        if getattr(widget, "localized", False):
            dated["locale"] = ui.locale
        return jsonable(widget.data(site=ui.site, actor=ui.actor, now=ui.site.clock.now(), **dated))
    except RecordError:
        return None
    except Exception:
        log.exception("dashboard widget %s failed", widget.name)
        return None


def is_empty(widget: Any, data: dict[str, Any] | None) -> bool:
    if data is None:
        return True
    if widget.kind == "number":
        return data.get("value") in (None, 0)
    if widget.kind == "chart":
        return not data.get("labels") or not any(any(v for v in s.get("values", [])) for s in data.get("series", []))
    return not data.get("rows")


def chart_options(ui: UI, data: dict[str, Any]) -> str:
    """The ECharts option object for a chart widget's data, as JSON for ``static/ui/app.js``."""
    kind = data.get("type", "bar")
    labels = data.get("labels", [])
    series = data.get("series", [])
    if kind in ("pie", "funnel"):
        values = series[0].get("values", []) if series else []
        option = {
            "tooltip": {"trigger": "item"},
            "series": [{"type": kind, "name": series[0].get("name", "") if series else "", "data": _slices(labels, values, data.get("colours"))}],
        }
    else:
        several = len(series) > 1  # a legend names them, under the axis labels
        option = {
            "tooltip": {"trigger": "axis"},
            "legend": {"show": several, "type": "scroll", "bottom": 0},
            "grid": {"left": 40, "right": 16, "top": 24, "bottom": 56 if several else 28},
            "xAxis": {"type": "category", "data": labels, "axisLabel": {"hideOverlap": True}},
            "yAxis": {"type": "value"},
            "series": [{"type": kind, "name": ui.label(s.get("name"), ""), "data": s.get("values", []), "smooth": kind == "line"} for s in series],
        }
    return json.dumps(option, ensure_ascii=False)


def _slices(labels: list[Any], values: list[Any], colours: list[Any] | None) -> list[dict[str, Any]]:
    """Pie or funnel slices, each in its option's colour when the data names one."""
    slices = [{"name": n, "value": v} for n, v in zip(labels, values)]
    for piece, colour in zip(slices, colours or []):
        if colour:
            piece["itemStyle"] = {"color": colour}
    return slices


def entity_counts(ui: UI) -> list[dict[str, Any]]:
    counts = []
    for name, entity in ui.view.entities.items():
        if name in ADMIN_ENTITIES or not permissions.allowed(ui.site, ui.actor, name, "read"):
            continue
        page = ui.site.records.list(ui.actor, name, limit=1)
        counts.append({"name": name, "label": ui.label(entity.label_plural, name), "total": page.total, "exact": page.total_exact})
    return counts


async def dashboard_page(request: Request) -> Response:
    """``/?period=KEY`` narrows the widgets that are dated to a range of days in the viewer's zone."""
    ui = ui_for(request)
    wanted = request.query_params.get("period", "all")
    period = Period.of(wanted if wanted in PERIODS else "all", ui.site.clock.now(), ui.tzinfo)
    cards = []
    for widget in visible_widgets(ui):
        data = widget_data(ui, widget, period)
        cards.append({
            "widget": widget,
            "label": ui.label(widget.label, widget.name),
            "data": data,
            "empty": is_empty(widget, data),
            "chart": chart_options(ui, data) if widget.kind == "chart" and data else None,
        })
    counts = entity_counts(ui)
    return ui.render(
        "dashboard.html",
        period=period,
        periods=[(key, ui.label(label, key)) for key, label in PERIODS.items()],
        any_dated=any(c["widget"].dated for c in cards),
        cards=cards,
        counts=counts,
        no_data=all(c["total"] == 0 for c in counts),
    )
