"""Fixtures: a site with customers, pools and leads, users in two teams, and lead pools of team North."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from kernel import Actor, Site
from kernel.testing import clock, create_app, database_url, issue_token, make_site  # noqa: F401 - fixtures
from .support import SYSTEM, Client, required_plugins

MASKED = ["phone", "email", "wechat"]


@pytest.fixture
def site(make_site: Callable[..., Site]) -> Site:  # noqa: F811
    return make_site(*required_plugins())


@pytest.fixture
def people(site: Site) -> dict[str, Actor]:
    return make_people(site)


def make_people(site: Site) -> dict[str, Actor]:
    """``admin``; ``manager`` of team North with reps ``rep`` and ``rep2``; ``outsider`` of team South."""
    north = site.records.create(SYSTEM, "teams", {"name": "North"})
    south = site.records.create(SYSTEM, "teams", {"name": "South"})
    found = {}
    for key, role, team in (
        ("admin", "admin", None), ("manager", "sales_manager", north), ("rep", "sales_rep", north),
        ("rep2", "sales_rep", north), ("outsider", "sales_rep", south),
    ):
        user = site.records.create(SYSTEM, "users", {"email": f"{key}@example.com", "name": key.title(), "role": role, "team_id": team and team["id"]})
        found[key] = Actor(user_id=user["id"], label=user["email"], role=role, team_id=user["team_id"])
    return found


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


@pytest.fixture
def http(site: Site) -> Callable[[Actor], Client]:
    return clients_of(site)


def clients_of(site: Site) -> Callable[[Actor], Client]:
    """``clients_of(site)(actor)``: an API client sending ``actor``'s token."""
    app = create_app(site=site)

    def client_for(actor: Actor) -> Client:
        assert actor.user_id is not None
        return Client(app, issue_token(site, actor.user_id)["token"])

    return client_for
