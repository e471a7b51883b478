"""The ``pools`` plugin: one ownership engine (pools, claims, limits, returns, cooldowns) for any entity.

Wiring only: every hook hands over to the module that holds the rule.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from kernel import hookimpl

from . import hookspecs
from .options import option_lists
from .ui_hooks import (  # noqa: F401 - the web UI's hooks (pages, reports, widgets, history)
    record_activity, register_dashboard_widgets, register_menu_items, register_menu_sections, register_pages, register_routes,
    register_template_dirs,
)

if TYPE_CHECKING:
    from kernel import OptionList

NAME = "pools"
LABEL = {"en": "Pools", "zh_CN": "公共池"}
DESCRIPTION = {
    "en": "The ownership engine behind lead pools and the public sea: claims, limits, returns, cooldowns.",
    "zh_CN": "线索池与公海背后的归属引擎：领取、上限、回收、冷却期。",
}
REQUIRES: tuple[str, ...] = ()
HOOKSPECS = hookspecs


@hookimpl
def register_migrations() -> str:
    return str(Path(__file__).parent / "migrations" / "versions")


@hookimpl
def register_option_lists() -> list[OptionList]:
    return option_lists()

