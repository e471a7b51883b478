"""Fixtures: a site with customers and pipeline, users in two teams, a customer per rep."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from kernel import Actor, Site
from kernel.testing import clock, create_app, database_url, issue_token, make_site  # noqa: F401 - fixtures
from .support import SYSTEM, Client, required_plugins


@pytest.fixture
def site(make_site: Callable[..., Site]) -> Site:  # noqa: F811
    return make_site(*required_plugins())


@pytest.fixture
def people(site: Site) -> dict[str, Actor]:
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


def make_customer(site: Site, owner: Actor, name: str = "华东机械有限公司") -> dict[str, Any]:
    return site.records.create(SYSTEM, "customers", {"name": name, "kind": "company", "owner_id": owner.user_id})


def make_opportunity(site: Site, owner: Actor, customer: dict[str, Any], **values: Any) -> dict[str, Any]:
    return site.records.create(owner, "opportunities", {"name": "数控机床采购", "customer_id": customer["id"], **values})


@pytest.fixture
def http(site: Site) -> Callable[[Actor], Client]:
    app = create_app(site=site)

    def client_for(actor: Actor) -> Client:
        assert actor.user_id is not None
        return Client(app, issue_token(site, actor.user_id)["token"])

    return client_for
