"""Test helpers: the plugins leads needs, and what the pools engine counts.

``customers`` and ``pools`` are loaded by name, as the site loads installed plugins: the leads' tests
use them only through the site (entities, actions, pages), never their modules' functions.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

import sqlalchemy as sa

from kernel import Actor, Site

SYSTEM = Actor.system("cli")
HOLDINGS = sa.table("pools_holdings", sa.column("entity"), sa.column("pool_id"), sa.column("user_id"), sa.column("held"))


def required_plugins() -> tuple[ModuleType, ...]:
    """The plugin modules of ``customers`` and ``pools`` (the leads' ``REQUIRES``), then the leads' own."""
    return tuple(importlib.import_module(f"plugins.{name}.plugin") for name in ("customers", "pools", "leads"))


def held(site: Site, pool_id: int, user_id: int | None) -> int:
    """How many leads of ``pool_id`` the pools engine counts against ``user_id``'s limit."""
    with site.engine.connect() as conn:
        return conn.scalar(sa.select(HOLDINGS.c.held).where(HOLDINGS.c.entity == "leads", HOLDINGS.c.pool_id == pool_id,
                                                             HOLDINGS.c.user_id == user_id)) or 0


def owner_of(site: Site, lead: dict[str, Any]) -> int | None:
    return site.records.get(SYSTEM, "leads", lead["id"])["owner_id"]  # type: ignore[no-any-return]
