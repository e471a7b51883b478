"""The lead reports' page (``/p/leads/reports``), JSON API (``GET /api/v1/plugins/leads/reports/NAME``) and
downloads (CSV or XLSX through :func:`kernel.export_table`, audited as an export ``leads.NAME``).

Parameters, the same everywhere: ``by`` (``source``, ``pool`` or ``owner``; the ``conversion`` and
``first_followup`` reports) and the period: ``period`` (``today``, ``7d``, ``30d``, ``month``,
``quarter``, ``year``, ``all``; default ``all``) or ``from`` and ``to`` (dates, ``to`` included) in
the reader's time zone. A bad value is a 422 naming it. Readers need ``leads.read``; every number
counts only leads they may see.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from kernel import NotFound, Period, ValidationError, allowed, day_start, export_table, jsonable, parse_date, user_zone
from kernel.ui import check_form, ui_of

from .reports import DIMENSIONS, REPORTS, Query, run

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from kernel import Actor, Site

LEAD = "leads"
PERIOD_KEYS = ("all", "today", "7d", "30d", "month", "quarter", "year")
PERIOD_LABELS = {
    "all": {"en": "All time", "zh_CN": "全部时间"}, "today": {"en": "Today", "zh_CN": "今天"},
    "7d": {"en": "Last 7 days", "zh_CN": "最近 7 天"}, "30d": {"en": "Last 30 days", "zh_CN": "最近 30 天"},
    "month": {"en": "This month", "zh_CN": "本月"}, "quarter": {"en": "This quarter", "zh_CN": "本季度"},
    "year": {"en": "This year", "zh_CN": "今年"},
}
WORDS = {
    "title": {"en": "Lead reports", "zh_CN": "线索报表"},
    "per": {"en": "Per", "zh_CN": "维度"},
    "period": {"en": "Period", "zh_CN": "期间"},
    "show": {"en": "Show", "zh_CN": "查看"},
    "export_as": {"en": "Export as", "zh_CN": "导出格式"},
    "export": {"en": "Export", "zh_CN": "导出"},
    "empty": {"en": "No leads in this period.", "zh_CN": "此期间没有线索。"},
    "empty_hint": {"en": "Leads you may see appear here as they come in. Try a longer period.",
                   "zh_CN": "您可查看的线索进来后会显示在这里。可以试试更长的期间。"},
    "reports": {"en": "Reports", "zh_CN": "报表"},
}


def routes() -> list[BaseRoute]:
    """The JSON API under ``/api/v1/plugins/leads``."""
    return [Route("/reports/{name}", report_api, methods=["GET"])]


def pages() -> list[BaseRoute]:
    return [Route("/reports", reports_page, methods=["GET"]), Route("/reports/export", export_page, methods=["POST"])]


def read_query(site: Site, params: Any, tz: ZoneInfo, name: str) -> tuple[Query, dict[str, Any]]:
    """The report's :class:`Query` from request parameters, and the parameters as understood (for links)."""
    by = params.get("by") or "source"
    if by not in DIMENSIONS:
        raise ValidationError.at(["query", "by"], f"must be one of {', '.join(DIMENSIONS)}")
    understood: dict[str, Any] = {"by": by} if REPORTS[name].grouped else {}
    if params.get("from") or params.get("to"):
        first = parse_date(params.get("from"), ["query", "from"]) if params.get("from") else None
        last = parse_date(params.get("to"), ["query", "to"]) if params.get("to") else None
        if first and last and last < first:
            raise ValidationError.at(["query", "to"], "must not be before from")
        start = day_start(first, tz) if first else None
        end = day_start(last + timedelta(days=1), tz) if last else None
        understood |= {"from": first.isoformat() if first else "", "to": last.isoformat() if last else ""}
    else:
        key = params.get("period") or "all"
        if key not in PERIOD_KEYS:
            raise ValidationError.at(["query", "period"], f"must be one of {', '.join(PERIOD_KEYS)}")
        period = Period.of(key, site.clock.now(), tz)
        start, end = period.start, period.end
        understood["period"] = key
    return Query(by, start, end), understood


def report_name(name: Any) -> str:
    if name not in REPORTS:
        raise NotFound(f"no report named {name!r}", [{"loc": ["path", "name"], "msg": f"must be one of {', '.join(REPORTS)}"}])
    return str(name)


def _readable(site: Site, actor: Actor) -> None:
    if not allowed(site, actor, LEAD, "read"):
        raise NotFound("no such report", [{"loc": ["path", "name"], "msg": "you may not read leads"}])


def first_header(name: str, by: str) -> dict[str, str]:
    report = REPORTS[name]
    return DIMENSIONS[by] if report.grouped else report.first


def table_of(name: str, rows: list[dict[str, Any]], locale: str, by: str) -> tuple[list[str], list[list[Any]]]:
    """Headers and rows of a report for a file, labels in ``locale``."""
    report = REPORTS[name]
    pick = lambda labels: labels.get(locale) or labels["en"]  # noqa: E731
    headers = [pick(first_header(name, by))] + [pick(c.label) for c in report.columns]
    body = []
    for row in rows:
        cells: list[Any] = [pick(row["label"])]
        for column in report.columns:
            cells.append(pick(row["how_label"]) if column.key == "how" else row.get(column.key))
        body.append(cells)
    return headers, body


async def report_api(request: Request) -> Response:
    """``GET /api/v1/plugins/leads/reports/NAME?by=&period=`` (or ``from``/``to``) →
    ``{"report", "by", "from", "to", "columns": [...], "rows": [{"key", "label", ...}]}``;
    ``format=csv|xlsx`` downloads the same table instead."""
    site, actor = request.app.state.site, request.state.actor
    name = report_name(request.path_params["name"])
    _readable(site, actor)
    query, _understood = read_query(site, request.query_params, user_zone(site, actor.user_id), name)
    rows = run(site, actor, name, query)
    fmt = request.query_params.get("format", "json")
    if fmt != "json":
        return download(site, actor, name, query, rows, fmt, site.settings.default_locale)
    report = REPORTS[name]
    body = {
        "report": name,
        "by": query.by if report.grouped else None,
        "from": query.start,
        "to": query.end,
        "columns": [{"key": c.key, "label": c.label, "kind": c.kind} for c in report.columns],
        "rows": rows,
    }
    return JSONResponse(jsonable(body))


def download(site: Site, actor: Actor, name: str, query: Query, rows: list[dict[str, Any]], fmt: str, locale: str) -> Response:
    if fmt not in ("csv", "xlsx"):
        raise ValidationError.at(["query", "format"], "must be json, csv or xlsx")
    headers, body = table_of(name, rows, locale, query.by)
    details = {"by": query.by if REPORTS[name].grouped else None, "from": query.start, "to": query.end}
    table = export_table(site, actor, f"leads.{name}", fmt, headers, body, details=jsonable(details))
    disposition = {"Content-Disposition": f'attachment; filename="{table.filename}"'}
    return StreamingResponse(table.chunks(), media_type=table.media_type, headers=disposition)


async def reports_page(request: Request) -> Response:
    """The report chosen (``report=``) for the chosen grouping and period, as a table."""
    ui = ui_of(request)
    site, actor = ui.site, ui.actor
    _readable(site, actor)
    name = request.query_params.get("report") or "funnel"
    if name not in REPORTS:
        name = "funnel"
    error = ""
    try:
        query, understood = read_query(site, request.query_params, ui.tzinfo, name)
    except ValidationError as exc:
        explained = ui.explain(exc)
        error = "; ".join(str(d.get("msg")) for d in explained.details or []) or explained.message
        query, understood = read_query(site, {}, ui.tzinfo, name)
    rows = run(site, actor, name, query)
    return ui.render(
        "leads/report.html",
        status_code=422 if error else 200,
        reports=REPORTS,
        name=name,
        report=REPORTS[name],
        first_header=first_header(name, query.by),
        dimensions=DIMENSIONS,
        periods=[(key, ui.label(PERIOD_LABELS[key])) for key in PERIOD_KEYS],
        understood=understood,
        rows=rows,
        error=error,
        words=WORDS,
    )


async def export_page(request: Request) -> Response:
    """The report on the page as a CSV or XLSX file in the reader's language and time zone."""
    ui = ui_of(request)
    form = await check_form(request)
    name = report_name(form.get("report"))
    _readable(ui.site, ui.actor)
    query, _understood = read_query(ui.site, form, ui.tzinfo, name)
    rows = run(ui.site, ui.actor, name, query)
    return download(ui.site, ui.actor, name, query, rows, str(form.get("format") or "csv"), ui.locale)
