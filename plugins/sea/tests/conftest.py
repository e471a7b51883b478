"""Fixtures: a site with customers, pools and sea (and a stand-in answering the closed hook), a sea of
team North and its customers (the people and the HTTP clients are :mod:`kernel.testing`'s)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from kernel import Actor, Site
from kernel.testing import clock, database_url, http, make_site, people  # noqa: F401 - fixtures
from . import closedplugin
from .support import SYSTEM, required_plugins

MASKED = ["phone", "phones", "email", "emails"]


@pytest.fixture
def site(make_site: Callable[..., Site]) -> Site:  # noqa: F811
    return make_site(*required_plugins(), closedplugin)


def make_sea(site: Site, people: dict[str, Actor], **rules: Any) -> dict[str, Any]:
    """A sea administered by the manager, its members the reps of team North (the outsider is not one)."""
    values = {"name": "华东公海", "admin_ids": [people["manager"].user_id], "member_ids": [people["rep"].user_id, people["rep2"].user_id],
              "masked_fields": MASKED, **rules}
    return site.records.create(SYSTEM, "seas", values)


def make_customers(site: Site, sea_id: int | None, count: int, **values: Any) -> list[dict[str, Any]]:
    return [
        site.records.create(SYSTEM, "customers", {"name": f"客户 {i}", "kind": "company", "phone": f"+86 21 6000 {i:04d}",
                                                  "email": f"c{i}@example.com", "owner_id": None, "sea_id": sea_id, **values})
        for i in range(count)
    ]
