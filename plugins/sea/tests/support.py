"""Test helpers: the plugins the sea needs, and what the pools engine counts.

``customers`` and ``pools`` are loaded by name, as the site loads installed plugins: the sea's tests
use them only through the site (entities, actions, pages), never their modules' functions.
"""

from __future__ import annotations

import importlib
from types import ModuleType

import sqlalchemy as sa

from kernel import Actor, Site

SYSTEM = Actor.system("cli")
HOLDINGS = sa.table("pools_holdings", sa.column("entity"), sa.column("pool_id"), sa.column("user_id"), sa.column("held"))


def required_plugins() -> tuple[ModuleType, ...]:
    """The plugin modules of ``customers`` and ``pools`` (the sea's ``REQUIRES``), then the sea's own."""
    return tuple(importlib.import_module(f"plugins.{name}.plugin") for name in ("customers", "pools", "sea"))


def held(site: Site, sea_id: int, user_id: int | None) -> int:
    """How many customers of ``sea_id`` the pools engine counts against ``user_id``'s limit."""
    with site.engine.connect() as conn:
        return conn.scalar(sa.select(HOLDINGS.c.held).where(HOLDINGS.c.entity == "customers", HOLDINGS.c.pool_id == sea_id,
                                                             HOLDINGS.c.user_id == user_id)) or 0
