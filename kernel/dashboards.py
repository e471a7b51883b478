"""Dashboard widgets: numbers, charts and tables that plugins contribute.

A plugin returns :class:`Widget` objects from ``register_dashboard_widgets``;
the web UI lays them out per role and calls ``data`` when it renders one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from .timezones import day_start, local_date

#: What ``data`` returns, by kind:
#: ``number``: {"value": 12, "delta": 3 (optional), "unit": "…" (optional; labels by locale, a locale's label may be its plural
#: forms: ``{"en": {"one": "record", "other": "records"}, "zh_CN": "条记录"}``), "link": "/path" (optional, a page of this site)}
#: ``chart``: {"type": "bar"|"line"|"pie"|"funnel", "labels": [...], "series": [{"name": ..., "values": [...]}]}
#: ``table``: {"columns": [{"key": ..., "label": {...}}], "rows": [{...}]}
KINDS = ("number", "chart", "table")


@dataclass(frozen=True)
class Widget:
    """One dashboard widget. ``data(site=, actor=, now=)`` must respect the actor's record rules
    (read through ``site.records`` or apply the ``record_filter`` conditions)."""

    name: str  # "plugin.widget", e.g. "notes.open_by_priority"
    label: dict[str, str]
    kind: str
    data: Callable[..., dict[str, Any]]
    roles: tuple[str, ...] = ()  # roles that get it on their default dashboard; empty: everyone
    permission: str | None = None  # e.g. "notes.read": hidden from users without it
    size: str = "medium"  # "small", "medium" or "large"
    extra: dict[str, Any] = field(default_factory=dict)
    #: True: ``data`` also takes ``period=`` (a :class:`Period`) and counts only what falls in it;
    #: the dashboard's date range applies to it. False: the widget shows what it always shows.
    dated: bool = False
    #: True: ``data`` also takes ``locale=`` (the reader's language), for labels it reads from data
    #: (option lists' labels, see :mod:`kernel.optionlists`).
    localized: bool = False

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"widget {self.name!r}: kind must be one of {', '.join(KINDS)}")


#: The dashboard's date ranges, with their labels; "all" (no range) first.
PERIODS: dict[str, dict[str, str]] = {
    "all": {"en": "All time", "zh_CN": "全部时间"},
    "today": {"en": "Today", "zh_CN": "今天"},
    "7d": {"en": "Last 7 days", "zh_CN": "最近 7 天"},
    "30d": {"en": "Last 30 days", "zh_CN": "最近 30 天"},
    "month": {"en": "This month", "zh_CN": "本月"},
    "quarter": {"en": "This quarter", "zh_CN": "本季度"},
    "year": {"en": "This year", "zh_CN": "今年"},
}


@dataclass(frozen=True)
class Period:
    """A dashboard's date range: from ``start`` (included) to ``end`` (excluded), both UTC-aware
    starts of days in the viewer's time zone; ``None`` for all time."""

    key: str
    start: datetime | None = None
    end: datetime | None = None

    @classmethod
    def of(cls, key: str, now: datetime, tz: ZoneInfo) -> "Period":
        """The range ``key`` (one of :data:`PERIODS`) as of ``now``, in whole days of ``tz``; "all" for an unknown key."""
        today = local_date(now, tz)
        first: date | None = {
            "today": today,
            "7d": today - timedelta(days=6),
            "30d": today - timedelta(days=29),
            "month": today.replace(day=1),
            "quarter": date(today.year, 3 * ((today.month - 1) // 3) + 1, 1),
            "year": date(today.year, 1, 1),
        }.get(key)
        if first is None:
            return cls("all")
        return cls(key, day_start(first, tz), day_start(today + timedelta(days=1), tz))

    def filters(self, field_name: str) -> dict[str, Any]:
        """List filters keeping ``field_name`` within the range (none for all time)."""
        if self.start is None or self.end is None:
            return {}
        return {f"{field_name}__gte": self.start, f"{field_name}__lt": self.end}


def aggregate_widget(
    name: str,
    label: dict[str, str],
    entity: str,
    *,
    group_by: tuple[str, ...] = (),
    measure: str = "count",
    filters: dict[str, Any] | None = None,
    chart: str = "bar",
    top: int | None = None,
    unit: dict[str, Any] | None = None,
    link: str | None = None,
    date_field: str | None = None,
    **options: Any,
) -> Widget:
    """A widget declared as an aggregate (:meth:`kernel.records.Records.aggregate`) instead of code.

    Without ``group_by`` it is a ``number`` (the measure over every row the viewer may see);
    (with ``unit`` and ``link`` if given); with one field a ``chart`` of type ``chart`` (one bar or slice per group, labelled as the
    aggregate labels them); ``top`` keeps the largest groups only. With ``date_field``
    (``"created_at"``) the dashboard's date range narrows it to records whose field falls in
    the range. ``options`` are
    :class:`Widget`'s (``roles``, ``permission`` — by default ``ENTITY.read`` —, ``size``, ``extra``).
    """
    options.setdefault("permission", f"{entity}.read")

    def data(site: Any, actor: Any, now: Any, period: Period | None = None, locale: str | None = None) -> dict[str, Any]:
        narrowed = dict(filters or {}) | (period.filters(date_field) if period is not None and date_field else {})
        found = site.records.aggregate(actor, entity, group_by=list(group_by), measures=[measure], filters=narrowed, locale=locale)
        groups = found.groups
        if not group_by:
            number = {"value": groups[0][measure] if groups else 0, "unit": unit, "link": link}
            return {k: v for k, v in number.items() if v is not None}
        if top is not None:
            groups = sorted(groups, key=lambda g: (-(g[measure] or 0), g["key"] is None))[:top]
        chart_data = {"type": chart, "labels": [g["label"] for g in groups], "series": [{"name": measure, "values": [g[measure] for g in groups]}]}
        if any(g.get("colour") for g in groups):  # an option list's colours
            chart_data["colours"] = [g.get("colour") for g in groups]
        return chart_data

    options.setdefault("dated", date_field is not None)
    options.setdefault("localized", True)
    return Widget(name, label, "number" if not group_by else "chart", data, **options)
