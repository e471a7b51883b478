"""Fixtures: a site with ``pools`` and the test client plugin, and pools of items (the people and the
HTTP clients are :mod:`kernel.testing`'s)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from kernel import Actor, Site
from kernel.testing import clock, database_url, http, make_site, people  # noqa: F401 - fixtures
from plugins.pools import plugin as pools_plugin

from . import poolplugin

SYSTEM = Actor.system("cli")


@pytest.fixture
def site(make_site: Callable[..., Site]) -> Site:  # noqa: F811
    built = make_site(pools_plugin, poolplugin)
    poolplugin.create_tables(built.engine)
    return built


def make_pool(site: Site, **rules: Any) -> dict[str, Any]:
    return site.records.create(SYSTEM, "item_pools", {"name": "Shanghai", **rules})


def make_items(site: Site, pool_id: int | None, count: int, **values: Any) -> list[dict[str, Any]]:
    return [site.records.create(SYSTEM, "items", {"name": f"item {i}", "pool_id": pool_id, **values}) for i in range(count)]
