"""The funnel and forecast pages (``/p/pipeline/funnel``, ``/p/pipeline/forecast``), their JSON API
(``GET /api/v1/plugins/pipeline/funnel`` and ``/forecast``) and downloads (CSV or XLSX through
:func:`kernel.export_table`, audited as an export).

Funnel parameters: ``pipeline_id`` (default: the default pipeline), the period as ``from`` and ``to``
(dates, ``to`` included, in the reader's time zone) or ``period`` (``today``, ``7d``, ``30d``,
``month``, ``quarter``, ``year``, ``all``; default ``all``), and filters ``owner_id``, ``team_id``,
``source``, ``custom.NAME``. Forecast parameters: ``from`` and ``to`` as months (``2026-03``; default
this month and the next two), ``owner_id``, ``team_id``, ``pipeline_id``, ``source``, ``custom.NAME``.
``format=csv|xlsx`` downloads the table instead of JSON. A bad value is a 422 naming it.
"""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from kernel import NotFound, Period, ValidationError, allowed, day_start, export_table, jsonable, local_date, parse_date, parse_id, user_zone
from kernel.ui import check_form, ui_of

from .forecast import ForecastQuery, forecast, next_month
from .funnel import FunnelQuery, funnel
from .stages import ENTITY, ensure_default_pipeline

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from kernel import Actor, Site

PERIODS = {
    "all": {"en": "All time", "zh_CN": "全部时间"}, "today": {"en": "Today", "zh_CN": "今天"},
    "7d": {"en": "Last 7 days", "zh_CN": "最近 7 天"}, "30d": {"en": "Last 30 days", "zh_CN": "最近 30 天"},
    "month": {"en": "This month", "zh_CN": "本月"}, "quarter": {"en": "This quarter", "zh_CN": "本季度"},
    "year": {"en": "This year", "zh_CN": "今年"},
}
MONTH = re.compile(r"^(\d{4})-(\d{2})$")
MAX_MONTHS = 24
#: Every word the two pages show, in both languages (templates call ``t("key")``).
TEXT = {
    "funnel": {"en": "Stage conversion analysis", "zh_CN": "销售阶段转化分析"},
    "forecast": {"en": "Sales forecast", "zh_CN": "销售预测"},
    "pipeline": {"en": "Pipeline", "zh_CN": "销售流程"},
    "period": {"en": "Period", "zh_CN": "时间范围"},
    "from": {"en": "From", "zh_CN": "开始"},
    "to": {"en": "To", "zh_CN": "结束"},
    "owner": {"en": "Owner", "zh_CN": "负责人"},
    "team": {"en": "Team", "zh_CN": "团队"},
    "source": {"en": "Source", "zh_CN": "来源"},
    "anyone": {"en": "Anyone", "zh_CN": "全部"},
    "custom_field": {"en": "Custom field", "zh_CN": "自定义字段"},
    "value": {"en": "Value", "zh_CN": "值"},
    "show": {"en": "Show", "zh_CN": "查看"},
    "export_as": {"en": "Export as", "zh_CN": "导出格式"},
    "export": {"en": "Export", "zh_CN": "导出"},
    "stage": {"en": "Stage", "zh_CN": "阶段"},
    "entered": {"en": "Entered", "zh_CN": "进入"},
    "moved_on": {"en": "Moved on", "zh_CN": "推进"},
    "lost": {"en": "Lost or invalid", "zh_CN": "输单或无效"},
    "dropped": {"en": "Drop-off", "zh_CN": "流失"},
    "conversion": {"en": "Conversion to next", "zh_CN": "转化率"},
    "avg_time": {"en": "Average time in stage", "zh_CN": "平均停留时长"},
    "median_time": {"en": "Median time in stage", "zh_CN": "停留时长中位数"},
    "stays": {"en": "Stays ended", "zh_CN": "结束停留次数"},
    "hours": {"en": "h", "zh_CN": "小时"},
    "days": {"en": "days", "zh_CN": "天"},
    "overall": {"en": "Overall conversion", "zh_CN": "整体转化率"},
    "win_rate": {"en": "Win rate", "zh_CN": "赢率"},
    "won": {"en": "Won", "zh_CN": "赢单"},
    "lost_count": {"en": "Lost", "zh_CN": "输单"},
    "invalid": {"en": "Invalid", "zh_CN": "无效"},
    "won_amount": {"en": "Won amount", "zh_CN": "赢单金额"},
    "avg_won": {"en": "Average won amount", "zh_CN": "平均赢单金额"},
    "cycle": {"en": "Average sales cycle", "zh_CN": "平均销售周期"},
    "velocity": {"en": "Sales velocity (per day)", "zh_CN": "销售速度（每天）"},
    "currency": {"en": "Currency", "zh_CN": "币种"},
    "lost_reasons": {"en": "Lost reasons", "zh_CN": "输单原因"},
    "reason": {"en": "Reason", "zh_CN": "原因"},
    "count": {"en": "Opportunities", "zh_CN": "商机数"},
    "nothing": {"en": "No stage moves in this period.", "zh_CN": "此期间没有阶段变动。"},
    "nothing_hint": {"en": "Moves of the opportunities you may see appear here. Try a longer period or fewer filters.",
                     "zh_CN": "您可查看的商机的阶段变动会显示在这里。请尝试更长的时间范围或更少的筛选条件。"},
    "definitions": {"en": "Entered: opportunities that entered the stage in the period, each once. Moved on: of those, the ones that left it "
                          "forward (to a later stage or won) in the period. Time in stage: stays that ended in the period.",
                    "zh_CN": "进入：期间进入该阶段的商机，每个只计一次。推进：其中在期间内向前推进（进入后续阶段或赢单）的商机。"
                             "停留时长：期间内结束的停留。"},
    "month": {"en": "Month", "zh_CN": "月份"},
    "open": {"en": "Open", "zh_CN": "进行中"},
    "best_case": {"en": "Best case", "zh_CN": "最佳预期"},
    "commit": {"en": "Commit", "zh_CN": "承诺"},
    "weighted": {"en": "Weighted pipeline", "zh_CN": "加权预测"},
    "won_month": {"en": "Won", "zh_CN": "已赢单"},
    "targets": {"en": "Targets", "zh_CN": "目标"},
    "for": {"en": "For", "zh_CN": "对象"},
    "everyone": {"en": "Everyone", "zh_CN": "全员"},
    "target": {"en": "Target", "zh_CN": "目标"},
    "attainment": {"en": "Attainment", "zh_CN": "完成率"},
    "projected": {"en": "Won + commit", "zh_CN": "已赢单 + 承诺"},
    "projected_attainment": {"en": "Projected attainment", "zh_CN": "预计完成率"},
    "no_targets": {"en": "No won-amount targets for these months.", "zh_CN": "这些月份没有赢单金额目标。"},
    "no_open": {"en": "No open opportunities close in these months.", "zh_CN": "这些月份没有预计成交的进行中商机。"},
    "commit_rule": {"en": "Commit: open opportunities with a probability of at least %(p)s%%. Weighted: amount × probability.",
                    "zh_CN": "承诺：赢率不低于 %(p)s%% 的进行中商机。加权：金额 × 赢率。"},
}


def word(key: str, locale: str) -> str:
    labels = TEXT[key]
    return labels.get(locale) or labels["en"]


def routes() -> list[BaseRoute]:
    """The JSON API under ``/api/v1/plugins/pipeline``."""
    return [Route("/funnel", funnel_api, methods=["GET"]), Route("/forecast", forecast_api, methods=["GET"])]


def pages() -> list[BaseRoute]:
    return [
        Route("/funnel", funnel_page, methods=["GET"]),
        Route("/funnel/export", funnel_export, methods=["POST"]),
        Route("/forecast", forecast_page, methods=["GET"]),
        Route("/forecast/export", forecast_export, methods=["POST"]),
    ]


def menu_items() -> list[dict[str, Any]]:
    return [
        {"label": TEXT["funnel"], "url": "/p/pipeline/funnel", "order": 33, "section": "opportunities", "permission": "opportunities.read"},
        {"label": TEXT["forecast"], "url": "/p/pipeline/forecast", "order": 34, "section": "opportunities", "permission": "opportunities.read"},
    ]


# -- parameters ---------------------------------------------------------------------------------


def _check_reader(site: Site, actor: Actor) -> None:
    if not allowed(site, actor, ENTITY, "read"):
        raise NotFound("no such report")


def read_filters(site: Site, params: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """The list filters on opportunities (and the parameters as understood, for links and forms)."""
    filters: dict[str, Any] = {}
    understood: dict[str, str] = {}
    for name in ("owner_id", "team_id"):
        raw = params.get(name)
        if raw not in (None, ""):
            filters[name] = parse_id(raw, ["query", name])
            understood[name] = str(filters[name])
    if params.get("source"):
        filters["source"] = understood["source"] = str(params["source"])
    custom = site.view.fields(ENTITY)
    for key in params.keys():
        if not key.startswith("custom."):
            continue
        name, value = key.removeprefix("custom."), params.get(key)
        if name not in custom:
            raise ValidationError.at(["query", key], "no custom field of opportunities has this name")
        if value not in (None, ""):
            filters[name] = understood[key] = value
    return filters, understood


def _pipeline_id(site: Site, actor: Actor, raw: Any) -> int:
    if raw in (None, ""):
        return ensure_default_pipeline(site)
    pipeline_id = parse_id(raw, ["query", "pipeline_id"])
    try:
        site.records.get(actor, "pipelines", pipeline_id)
    except NotFound:
        raise ValidationError.at(["query", "pipeline_id"], "no such pipeline") from None
    return pipeline_id


def read_funnel_query(site: Site, actor: Actor, params: Any, tz: ZoneInfo) -> tuple[FunnelQuery, dict[str, str]]:
    """The funnel's :class:`FunnelQuery` from request parameters, and the parameters as understood."""
    _check_reader(site, actor)
    pipeline_id = _pipeline_id(site, actor, params.get("pipeline_id"))
    filters, understood = read_filters(site, params)
    understood["pipeline_id"] = str(pipeline_id)
    start = end = None
    if params.get("from") or params.get("to"):
        first = parse_date(params.get("from"), ["query", "from"]) if params.get("from") else None
        last = parse_date(params.get("to"), ["query", "to"]) if params.get("to") else None
        if first and last and last < first:
            raise ValidationError.at(["query", "to"], "must not be before from")
        start = day_start(first, tz) if first else None
        end = day_start(last + timedelta(days=1), tz) if last else None
        understood.update({"from": first.isoformat() if first else "", "to": last.isoformat() if last else ""})
    else:
        key = params.get("period") or "all"
        if key not in PERIODS:
            raise ValidationError.at(["query", "period"], f"must be one of {', '.join(PERIODS)}")
        period = Period.of(key, site.clock.now(), tz)
        start, end = period.start, period.end
        understood["period"] = key
    return FunnelQuery(pipeline_id, start, end, filters), understood


def _month(raw: Any, loc: str) -> date:
    found = MONTH.match(str(raw).strip())
    if not found or not 1 <= int(found.group(2)) <= 12 or not 1900 < int(found.group(1)) < 2200:
        raise ValidationError.at(["query", loc], "must be a month such as 2026-03")
    return date(int(found.group(1)), int(found.group(2)), 1)


def read_forecast_query(site: Site, actor: Actor, params: Any, tz: ZoneInfo) -> tuple[ForecastQuery, dict[str, str]]:
    _check_reader(site, actor)
    filters, understood = read_filters(site, params)
    if params.get("pipeline_id"):
        filters["pipeline_id"] = _pipeline_id(site, actor, params.get("pipeline_id"))
        understood["pipeline_id"] = str(filters["pipeline_id"])
    today = local_date(site.clock.now(), tz)
    first = _month(params["from"], "from") if params.get("from") else today.replace(day=1)
    last = _month(params["to"], "to") if params.get("to") else next_month(next_month(first))
    if last < first:
        raise ValidationError.at(["query", "to"], "must not be before from")
    if (last.year - first.year) * 12 + last.month - first.month >= MAX_MONTHS:
        raise ValidationError.at(["query", "to"], f"at most {MAX_MONTHS} months at once")
    understood.update({"from": first.strftime("%Y-%m"), "to": last.strftime("%Y-%m")})
    return ForecastQuery(first, last, filters), understood


# -- tables for files -------------------------------------------------------------------------


def _hours(seconds: Decimal | None) -> Decimal | None:
    return None if seconds is None else (seconds / 3600).quantize(Decimal("0.01"))


def funnel_table(found: dict[str, Any], locale: str) -> tuple[list[str], list[list[Any]]]:
    keys = ("stage", "entered", "moved_on", "lost", "dropped", "conversion", "avg_time", "median_time", "stays")
    headers = [word(k, locale) + (f" ({word('hours', locale)})" if k in ("avg_time", "median_time") else "") for k in keys]
    rows = [
        [row["label"].get(locale) or row["label"]["en"], row["entered"], row["moved_on"], row["lost"], row["dropped"], row["conversion"],
         _hours(row["avg_seconds"]), _hours(row["median_seconds"]), row["stays"]]
        for row in found["stages"]
    ]
    return headers, rows


def forecast_table(found: dict[str, Any], locale: str) -> tuple[list[str], list[list[Any]]]:
    keys = ("month", "currency", "open", "best_case", "commit", "weighted", "won_month")
    rows = [[m["month"], m["currency"], m["open"], m["best_case"], m["commit"], m["weighted"], m["won"]] for m in found["months"]]
    return [word(k, locale) for k in keys], rows


def download(site: Site, actor: Actor, name: str, headers: list[str], rows: list[list[Any]], fmt: str, details: dict[str, Any]) -> Response:
    if fmt not in ("csv", "xlsx"):
        raise ValidationError.at(["query", "format"], "must be json, csv or xlsx")
    table = export_table(site, actor, f"pipeline.{name}", fmt, headers, rows, details=jsonable(details))
    disposition = {"Content-Disposition": f'attachment; filename="{table.filename}"'}
    return StreamingResponse(table.chunks(), media_type=table.media_type, headers=disposition)


# -- API --------------------------------------------------------------------------------------------


async def funnel_api(request: Request) -> Response:
    """``GET /api/v1/plugins/pipeline/funnel`` → the funnel (see :func:`plugins.pipeline.funnel.funnel`); ``format=csv|xlsx`` downloads it."""
    site, actor = request.app.state.site, request.state.actor
    query, understood = read_funnel_query(site, actor, request.query_params, user_zone(site, actor.user_id))
    found = funnel(site, actor, query)
    fmt = request.query_params.get("format", "json")
    if fmt != "json":
        headers, rows = funnel_table(found, site.settings.default_locale)
        return download(site, actor, "funnel", headers, rows, fmt, understood)
    return JSONResponse(jsonable(found))


async def forecast_api(request: Request) -> Response:
    """``GET /api/v1/plugins/pipeline/forecast`` → the forecast (see :func:`plugins.pipeline.forecast.forecast`); ``format=csv|xlsx`` downloads it."""
    site, actor = request.app.state.site, request.state.actor
    query, understood = read_forecast_query(site, actor, request.query_params, user_zone(site, actor.user_id))
    found = forecast(site, actor, query)
    fmt = request.query_params.get("format", "json")
    if fmt != "json":
        headers, rows = forecast_table(found, site.settings.default_locale)
        return download(site, actor, "forecast", headers, rows, fmt, understood)
    return JSONResponse(jsonable(found))


# -- pages ----------------------------------------------------------------------------------------


def _choices(site: Site, actor: Actor) -> dict[str, Any]:
    """What the filter form offers: pipelines, users, teams, sources and custom fields the reader may read."""
    def listed(entity: str, title: str) -> list[tuple[int, str]]:
        if site.view.entity(entity) is None or not allowed(site, actor, entity, "read"):
            return []
        items = site.records.list(actor, entity, sort="id", limit=500).items
        return [(item["id"], str(item.get(title) or item.get("email") or item["id"])) for item in items]

    sources = site.view.option_lists.get("customers.source")
    return {
        "pipelines": listed("pipelines", "name"),
        "users": listed("users", "name"),
        "teams": listed("teams", "name"),
        "sources": [(o.code, o.label) for o in sources.ordered()] if sources is not None else [],
        "custom": [(name, field.label) for name, field in site.view.fields(ENTITY).fields.items()],
    }


def _error_text(ui: Any, exc: ValidationError) -> str:
    explained = ui.explain(exc)
    return "; ".join(f"{'.'.join(map(str, d.get('loc', [])[1:]))}: {d.get('msg')}" for d in explained.details or []) or explained.message


def funnel_chart(found: dict[str, Any], locale: str) -> dict[str, Any]:
    """The ECharts option of the funnel: the open stages and the won stages, by entered."""
    shown = [row for row in found["stages"] if row["kind"] in ("open", "won")]
    return {
        "tooltip": {"trigger": "item", "formatter": "{b}: {c}"},
        "series": [{
            "type": "funnel", "sort": "none", "left": "5%", "width": "90%", "minSize": "8%", "gap": 2,
            "label": {"show": True, "position": "inside", "formatter": "{b} {c}"},
            "data": [{"name": row["label"].get(locale) or row["label"]["en"], "value": row["entered"]} for row in shown],
        }],
    }


async def funnel_page(request: Request) -> Response:
    ui = ui_of(request)
    site, actor = ui.site, ui.actor
    error = ""
    try:
        query, understood = read_funnel_query(site, actor, request.query_params, ui.tzinfo)
    except ValidationError as exc:
        error = _error_text(ui, exc)
        query, understood = read_funnel_query(site, actor, {}, ui.tzinfo)
    found = funnel(site, actor, query)
    return ui.render(
        "pipeline/funnel.html",
        status_code=422 if error else 200,
        t=lambda key, **values: word(key, ui.locale) % values if values else word(key, ui.locale),
        found=found,
        chart=json.dumps(funnel_chart(found, ui.locale), ensure_ascii=False),
        moved=any(row["entered"] or row["stays"] for row in found["stages"]),
        understood=understood,
        periods=[(key, ui.label(label)) for key, label in PERIODS.items()],
        choices=_choices(site, actor),
        hours=_hours,
        error=error,
    )


async def funnel_export(request: Request) -> Response:
    ui = ui_of(request)
    form = await check_form(request)
    query, understood = read_funnel_query(ui.site, ui.actor, form, ui.tzinfo)
    headers, rows = funnel_table(funnel(ui.site, ui.actor, query), ui.locale)
    return download(ui.site, ui.actor, "funnel", headers, rows, str(form.get("format") or "csv"), understood)


def forecast_chart(found: dict[str, Any], locale: str) -> dict[str, Any]:
    months = sorted({m["month"] for m in found["months"]})

    def series(key: str) -> dict[str, Any]:
        values = {m["month"]: m[key] for m in found["months"]}
        return {"name": word(key if key != "won" else "won_month", locale), "type": "bar", "data": [float(values.get(m, 0)) for m in months]}

    return {
        "tooltip": {"trigger": "axis"}, "legend": {"top": 0}, "grid": {"left": 60, "right": 16, "top": 36, "bottom": 28},
        "xAxis": {"type": "category", "data": months}, "yAxis": {"type": "value"},
        "series": [series(k) for k in ("won", "commit", "weighted", "best_case")],
    }


async def forecast_page(request: Request) -> Response:
    ui = ui_of(request)
    site, actor = ui.site, ui.actor
    error = ""
    try:
        query, understood = read_forecast_query(site, actor, request.query_params, ui.tzinfo)
    except ValidationError as exc:
        error = _error_text(ui, exc)
        query, understood = read_forecast_query(site, actor, {}, ui.tzinfo)
    found = forecast(site, actor, query)
    choices = _choices(site, actor)
    return ui.render(
        "pipeline/forecast.html",
        status_code=422 if error else 200,
        t=lambda key, **values: word(key, ui.locale) % values if values else word(key, ui.locale),
        found=found,
        chart=json.dumps(forecast_chart(found, ui.locale), ensure_ascii=False),
        understood=understood,
        choices=choices,
        who_names={"users": dict(choices["users"]), "teams": dict(choices["teams"])},
        error=error,
    )


async def forecast_export(request: Request) -> Response:
    ui = ui_of(request)
    form = await check_form(request)
    query, understood = read_forecast_query(ui.site, ui.actor, form, ui.tzinfo)
    headers, rows = forecast_table(forecast(ui.site, ui.actor, query), ui.locale)
    return download(ui.site, ui.actor, "forecast", headers, rows, str(form.get("format") or "csv"), understood)
