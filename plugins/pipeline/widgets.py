"""Dashboard widgets: the funnel of the default pipeline, and the forecast per role (rep: mine; manager:
my team; executive and admin: everyone), each a few SQL statements under the viewer's record rules."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from kernel import Period, Widget, local_date, site_zone

from .forecast import ForecastQuery, forecast, months_between, next_month
from .funnel import FunnelQuery, funnel
from .stages import ensure_default_pipeline

if TYPE_CHECKING:
    from kernel import Actor, Site

SERIES = {
    "won": {"en": "Won", "zh_CN": "已赢单"},
    "commit": {"en": "Commit", "zh_CN": "承诺"},
    "weighted": {"en": "Weighted pipeline", "zh_CN": "加权预测"},
    "best_case": {"en": "Best case", "zh_CN": "最佳预期"},
}


def funnel_data(site: Site, actor: Actor, now: datetime, period: Period | None = None, locale: str | None = None) -> dict[str, Any]:
    """Entered per stage (open and won stages) of the default pipeline in the dashboard's period."""
    pipeline_id = ensure_default_pipeline(site)
    start, end = (period.start, period.end) if period is not None else (None, None)
    found = funnel(site, actor, FunnelQuery(pipeline_id, start, end))
    shown = [row for row in found["stages"] if row["kind"] in ("open", "won")]
    if not any(row["entered"] for row in shown):
        return {"type": "funnel", "labels": [], "series": []}
    return {
        "type": "funnel",
        "labels": [row["label"].get(locale or "en") or row["label"]["en"] for row in shown],
        "series": [{"name": {"en": "Entered", "zh_CN": "进入"}, "values": [row["entered"] for row in shown]}],
    }


def _forecast_data(scope: str) -> Any:
    def data(site: Site, actor: Actor, now: datetime, locale: str | None = None) -> dict[str, Any]:
        first = local_date(now, site_zone(site)).replace(day=1)
        last = next_month(next_month(first))
        filters: dict[str, Any] = {}
        if scope == "mine":
            filters["owner_id"] = actor.user_id
        elif scope == "team" and actor.team_id is not None:
            filters["team_id"] = actor.team_id
        found = forecast(site, actor, ForecastQuery(first, last, filters))
        currency = site.settings.default_currency
        months = months_between(first, last)
        by_month = {m["month"]: m for m in found["months"] if m["currency"] == currency}
        if not by_month:
            return {"type": "bar", "labels": [], "series": []}
        return {
            "type": "bar",
            "labels": months,
            "series": [
                {"name": SERIES[key], "values": [float(by_month[m][key]) if m in by_month else 0.0 for m in months]}
                for key in ("won", "commit", "weighted", "best_case")
            ],
        }

    return data


def dashboard_widgets() -> list[Widget]:
    return [
        Widget("pipeline.funnel", {"en": "Stage funnel", "zh_CN": "销售漏斗"}, "chart", funnel_data,
               roles=("sales_rep", "sales_manager", "executive", "admin"), permission="opportunities.read", dated=True, localized=True),
        Widget("pipeline.forecast_mine", {"en": "My forecast", "zh_CN": "我的销售预测"}, "chart", _forecast_data("mine"),
               roles=("sales_rep",), permission="opportunities.read", localized=True),
        Widget("pipeline.forecast_team", {"en": "Team forecast", "zh_CN": "团队销售预测"}, "chart", _forecast_data("team"),
               roles=("sales_manager",), permission="opportunities.read", localized=True),
        Widget("pipeline.forecast_all", {"en": "Company forecast", "zh_CN": "全员销售预测"}, "chart", _forecast_data("all"),
               roles=("executive", "admin"), permission="opportunities.read", localized=True),
    ]
