"""The reports' page (``/p/pools/reports``), JSON API (``GET /api/v1/plugins/pools/reports/NAME``) and
downloads (CSV or XLSX through :func:`kernel.export_table`, audited as an export).

Parameters, the same everywhere: ``entity`` (the pooled entity, e.g. ``leads``; default the first
kind the reader may read), ``by`` (``member``, ``team`` or ``pool``), and the period: ``period``
(``today``, ``7d``, ``30d``, ``month``, ``quarter``, ``year``, ``all``; default ``30d``) or ``from`` and
``to`` (dates, ``to`` included) in the reader's time zone. A bad value is a 422 naming it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from kernel import NotFound, Period, ValidationError, allowed, day_start, export_table, jsonable, parse_date, user_zone
from kernel.ui import check_form, ui_of

from .access import pool_kinds
from .reports import DIMENSIONS, REPORTS, Query, run

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from kernel import Actor, Site

PERIOD_KEYS = ("today", "7d", "30d", "month", "quarter", "year", "all")
PERIOD_LABELS = {
    "today": {"en": "Today", "zh_CN": "今天"}, "7d": {"en": "Last 7 days", "zh_CN": "最近 7 天"},
    "30d": {"en": "Last 30 days", "zh_CN": "最近 30 天"}, "month": {"en": "This month", "zh_CN": "本月"},
    "quarter": {"en": "This quarter", "zh_CN": "本季度"}, "year": {"en": "This year", "zh_CN": "今年"},
    "all": {"en": "All time", "zh_CN": "全部时间"},
}


def routes() -> list[BaseRoute]:
    """The JSON API under ``/api/v1/plugins/pools``."""
    return [Route("/reports/{name}", report_api, methods=["GET"])]


def read_query(site: Site, actor: Actor, params: Any, tz: ZoneInfo) -> tuple[Query, dict[str, Any]]:
    """The report's :class:`Query` from request parameters, and the parameters as understood (for links)."""
    readable = pool_kinds(site, actor)
    entity = params.get("entity") or (readable[0].entity if readable else "")
    if entity not in {k.entity for k in readable}:
        raise ValidationError.at(["query", "entity"], "must be a pooled entity you may read")
    by = params.get("by") or "member"
    if by not in DIMENSIONS:
        raise ValidationError.at(["query", "by"], f"must be one of {', '.join(DIMENSIONS)}")
    start = end = None
    if params.get("from") or params.get("to"):
        first = parse_date(params.get("from"), ["query", "from"]) if params.get("from") else None
        last = parse_date(params.get("to"), ["query", "to"]) if params.get("to") else None
        if first and last and last < first:
            raise ValidationError.at(["query", "to"], "must not be before from")
        start = day_start(first, tz) if first else None
        end = day_start(last + timedelta(days=1), tz) if last else None
        understood = {"entity": entity, "by": by, "from": first.isoformat() if first else "", "to": last.isoformat() if last else ""}
    else:
        key = params.get("period") or "30d"
        if key not in PERIOD_KEYS:
            raise ValidationError.at(["query", "period"], f"must be one of {', '.join(PERIOD_KEYS)}")
        period = Period.of(key, site.clock.now(), tz)
        start, end = period.start, period.end
        understood = {"entity": entity, "by": by, "period": key}
    return Query(entity, by, start, end), understood


def report_name(name: Any) -> str:
    if name not in REPORTS:
        raise NotFound(f"no report named {name!r}", [{"loc": ["path", "name"], "msg": f"must be one of {', '.join(REPORTS)}"}])
    return str(name)


def table_of(name: str, rows: list[dict[str, Any]], locale: str, by: str) -> tuple[list[str], list[list[Any]]]:
    """Headers and rows of a report for a file, labels in ``locale``."""
    report = REPORTS[name]
    pick = lambda labels: labels.get(locale) or labels["en"]  # noqa: E731
    headers = [pick(DIMENSIONS[by])] + [pick(c.label) for c in report.columns]
    body = []
    for row in rows:
        cells: list[Any] = [row["label"]]
        for column in report.columns:
            value = row.get(column.key)
            if column.key == "how":
                value = pick(row["how_label"])
            elif column.key == "reason":
                value = pick(row["reason_label"]) if row["reason"] else None
            cells.append(value)
        body.append(cells)
    return headers, body


async def report_api(request: Request) -> Response:
    """``GET /api/v1/plugins/pools/reports/NAME?entity=&by=&period=`` (or ``from``/``to``) →
    ``{"report", "entity", "by", "from", "to", "columns": [...], "rows": [{"key", "label", ...}]}``;
    ``format=csv|xlsx`` downloads the same table instead."""
    site, actor = request.app.state.site, request.state.actor
    name = report_name(request.path_params["name"])
    tz = user_zone(site, actor.user_id)
    query, _understood = read_query(site, actor, request.query_params, tz)
    rows = run(site, actor, name, query)
    fmt = request.query_params.get("format", "json")
    if fmt != "json":
        return download(site, actor, name, query, rows, fmt, site.settings.default_locale)
    report = REPORTS[name]
    body = {
        "report": name,
        "entity": query.entity,
        "by": query.by,
        "from": query.start,
        "to": query.end,
        "columns": [{"key": c.key, "label": c.label, "kind": c.kind} for c in report.columns],
        "rows": [{k: v for k, v in row.items() if k not in ("how_label", "reason_label")} for row in rows],
    }
    return JSONResponse(jsonable(body))


def download(site: Site, actor: Actor, name: str, query: Query, rows: list[dict[str, Any]], fmt: str, locale: str) -> Response:
    if fmt not in ("csv", "xlsx"):
        raise ValidationError.at(["query", "format"], "must be json, csv or xlsx")
    headers, body = table_of(name, rows, locale, query.by)
    details = {"entity": query.entity, "by": query.by, "from": query.start, "to": query.end}
    table = export_table(site, actor, f"pools.{name}", fmt, headers, body, details=jsonable(details))
    disposition = {"Content-Disposition": f'attachment; filename="{table.filename}"'}
    return StreamingResponse(table.chunks(), media_type=table.media_type, headers=disposition)


async def reports_page(request: Request) -> Response:
    """The report chosen (``report=``) for the chosen kind, grouping and period, as a table."""
    ui = ui_of(request)
    site, actor = ui.site, ui.actor
    name = request.query_params.get("report") or "claims"
    if name not in REPORTS:
        name = "claims"
    readable = pool_kinds(site, actor)
    error = ""
    rows: list[dict[str, Any]] = []
    understood: dict[str, Any] = {}
    if readable:
        try:
            query, understood = read_query(site, actor, request.query_params, ui.tzinfo)
        except ValidationError as exc:
            explained = ui.explain(exc)
            error = "; ".join(str(d.get("msg")) for d in explained.details or []) or explained.message
            query, understood = read_query(site, actor, {}, ui.tzinfo)
        rows = run(site, actor, name, query)
    return ui.render(
        "pools/reports.html",
        status_code=422 if error else 200,
        reports=REPORTS,
        name=name,
        report=REPORTS[name],
        kinds=[{"entity": k.entity, "label": ui.label(site.view.entity(k.entity).label_plural, k.entity)} for k in readable],
        dimensions=DIMENSIONS,
        periods=[(key, ui.label(PERIOD_LABELS[key])) for key in PERIOD_KEYS],
        understood=understood,
        rows=rows,
        error=error,
    )


async def export_page(request: Request) -> Response:
    """The report on the page as a CSV or XLSX file in the reader's language and time zone."""
    ui = ui_of(request)
    form = await check_form(request)
    name = form.get("report")
    if name not in REPORTS:
        raise NotFound("no such report")
    if not pool_kinds(ui.site, ui.actor):
        raise NotFound("no pools to report on")
    query, _understood = read_query(ui.site, ui.actor, form, ui.tzinfo)
    if not allowed(ui.site, ui.actor, query.entity, "read"):
        raise NotFound("no such report")
    rows = run(ui.site, ui.actor, str(name), query)
    return download(ui.site, ui.actor, str(name), query, rows, str(form.get("format") or "csv"), ui.locale)
