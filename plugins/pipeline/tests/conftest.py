"""Fixtures: a site with customers and pipeline, customers and opportunities (the people and the HTTP
clients are :mod:`kernel.testing`'s)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from kernel import Actor, Site
from kernel.testing import clock, database_url, http, make_site, people  # noqa: F401 - fixtures
from .support import SYSTEM, required_plugins


@pytest.fixture
def site(make_site: Callable[..., Site]) -> Site:  # noqa: F811
    return make_site(*required_plugins())


def make_customer(site: Site, owner: Actor, name: str = "华东机械有限公司") -> dict[str, Any]:
    return site.records.create(SYSTEM, "customers", {"name": name, "kind": "company", "owner_id": owner.user_id})


def make_opportunity(site: Site, owner: Actor, customer: dict[str, Any], **values: Any) -> dict[str, Any]:
    return site.records.create(owner, "opportunities", {"name": "数控机床采购", "customer_id": customer["id"], **values})
