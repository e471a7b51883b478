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
