"""Fixtures: a site with customers, pools and leads, lead pools of team North and leads (the people and
the HTTP clients are :mod:`kernel.testing`'s)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from kernel import Actor, Site
from kernel.testing import clock, database_url, http, make_site, people  # noqa: F401 - fixtures
from .support import SYSTEM, required_plugins

MASKED = ["phone", "email", "wechat"]


@pytest.fixture
def site(make_site: Callable[..., Site]) -> Site:  # noqa: F811
    return make_site(*required_plugins())


def make_pool(site: Site, people: dict[str, Actor], **rules: Any) -> dict[str, Any]:
    """A lead pool administered by the manager, its members the reps of team North (the outsider is not one)."""
    values = {"name": "上海区线索池", "admin_ids": [people["manager"].user_id], "member_ids": [people["rep"].user_id, people["rep2"].user_id],
              **rules}
    return site.records.create(SYSTEM, "lead_pools", values)


def make_leads(site: Site, pool_id: int | None, count: int, **values: Any) -> list[dict[str, Any]]:
    return [
        site.records.create(SYSTEM, "leads", {"name": f"线索 {i}", "company": f"测试公司{i}号", "phone": f"+86 21 6000 {i:04d}",
                                              "email": f"l{i}@example.com", "owner_id": None, "pool_id": pool_id, **values})
        for i in range(count)
    ]
