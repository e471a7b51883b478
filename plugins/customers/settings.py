"""The plugin's ``[plugins.customers]`` settings: schema and typed access."""

from __future__ import annotations

import copy
import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kernel import Site

SCHEMA_FILE = Path(__file__).parent / "schemas" / "settings.json"


def settings_schema() -> dict[str, Any]:
    return copy.deepcopy(_schema())


@functools.cache
def _schema() -> dict[str, Any]:
    """The schema file, read once: every created customer asks for the settings (an import, a million times)."""
    return json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


@dataclass(frozen=True)
class CustomerSettings:
    levels: tuple[str, ...]
    dedupe: bool
    reminder_lead_minutes: int
    churn_window_days: int
    churn_ratio: float
    churn_min_history: int
    email_reminders: bool


def settings_of(site: Site) -> CustomerSettings:
    """This site's settings, defaults filled in by the kernel from the schema."""
    values = dict(site.plugin_config("customers"))
    for name, sub in _schema()["properties"].items():
        values.setdefault(name, sub["default"])
    values["levels"] = tuple(values["levels"])
    return CustomerSettings(**values)
