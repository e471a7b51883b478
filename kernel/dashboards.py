"""Dashboard widgets: numbers, charts and tables that plugins contribute.

A plugin returns :class:`Widget` objects from ``register_dashboard_widgets``;
the web UI lays them out per role and calls ``data`` when it renders one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

#: What ``data`` returns, by kind:
#: ``number``: {"value": 12, "delta": 3 (optional), "unit": "…" (optional), "link": "/path" (optional, a page of this site)}
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

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"widget {self.name!r}: kind must be one of {', '.join(KINDS)}")


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
    unit: dict[str, str] | None = None,
    link: str | None = None,
    **options: Any,
) -> Widget:
    """A widget declared as an aggregate (:meth:`kernel.records.Records.aggregate`) instead of code.

    Without ``group_by`` it is a ``number`` (the measure over every row the viewer may see);
    (with ``unit`` and ``link`` if given); with one field a ``chart`` of type ``chart`` (one bar or slice per group, labelled as the
    aggregate labels them); ``top`` keeps the largest groups only. ``options`` are
    :class:`Widget`'s (``roles``, ``permission`` — by default ``ENTITY.read`` —, ``size``, ``extra``).
    """
    options.setdefault("permission", f"{entity}.read")

    def data(site: Any, actor: Any, now: Any) -> dict[str, Any]:
        found = site.records.aggregate(actor, entity, group_by=list(group_by), measures=[measure], filters=dict(filters or {}))
        groups = found.groups
        if not group_by:
            number = {"value": groups[0][measure] if groups else 0, "unit": unit, "link": link}
            return {k: v for k, v in number.items() if v is not None}
        if top is not None:
            groups = sorted(groups, key=lambda g: (-(g[measure] or 0), g["key"] is None))[:top]
        return {"type": chart, "labels": [g["label"] for g in groups], "series": [{"name": measure, "values": [g[measure] for g in groups]}]}

    return Widget(name, label, "number" if not group_by else "chart", data, **options)
