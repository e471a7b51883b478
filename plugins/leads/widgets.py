"""The lead funnel dashboard widget: leads that reached each step, under the viewer's record rules
(the ``funnel`` report's SQL, :func:`.reports.funnel_chart`), narrowed by the dashboard's period."""

from __future__ import annotations

from kernel import Widget

from .reports import funnel_chart


def dashboard_widgets() -> list[Widget]:
    return [
        Widget("leads.funnel", {"en": "Lead funnel", "zh_CN": "线索漏斗"}, "chart", funnel_chart,
               roles=("admin", "sales_manager", "marketer", "executive"), permission="leads.read", dated=True, localized=True),
    ]
