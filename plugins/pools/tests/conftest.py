"""Fixtures: a site with ``pools`` and the test client plugin, users in two teams, and pools."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from kernel import Actor, Site
from kernel.testing import clock, create_app, database_url, issue_token, make_site  # noqa: F401 - fixtures
from plugins.pools import plugin as pools_plugin

from . import poolplugin

SYSTEM = Actor.system("cli")


@pytest.fixture
def site(make_site: Callable[..., Site]) -> Site:  # noqa: F811
    built = make_site(pools_plugin, poolplugin)
    poolplugin.create_tables(built.engine)
    return built


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


def make_pool(site: Site, **rules: Any) -> dict[str, Any]:
    return site.records.create(SYSTEM, "item_pools", {"name": "Shanghai", **rules})


def make_items(site: Site, pool_id: int | None, count: int, **values: Any) -> list[dict[str, Any]]:
    return [site.records.create(SYSTEM, "items", {"name": f"item {i}", "pool_id": pool_id, **values}) for i in range(count)]


class Client:
    """A synchronous face on httpx's in-process ASGI transport, sending one user's bearer token."""

    def __init__(self, app: Any, token: str):
        self.app, self.headers = app, {"Authorization": f"Bearer {token}"}

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver", headers=self.headers) as client:
                return await client.request(method, url, **kwargs)

        with ThreadPoolExecutor(1) as thread:
            return thread.submit(asyncio.run, send()).result()

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)


@pytest.fixture
def http(site: Site) -> Callable[[Actor], Client]:
    """``http(actor)``: a client acting as ``actor``'s user."""
    app = create_app(site=site)

    def client_for(actor: Actor) -> Client:
        assert actor.user_id is not None
        return Client(app, issue_token(site, actor.user_id)["token"])

    return client_for
