"""A plugin may implement a route hook more than once (``@hookimpl(specname=...)``, one function per
feature of the plugin): every implementation's routes are served, the API's and the pages' alike."""

from __future__ import annotations

import types

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from kernel import hookimpl
from kernel.testing import create_app, issue_token
from kernel.web.plugin_mount import routes_by_plugin

pytestmark = pytest.mark.anyio


async def first(request: Request) -> JSONResponse:
    return JSONResponse({"from": "first"})


async def second(request: Request) -> JSONResponse:
    return JSONResponse({"from": "second"})


def twice_plugin() -> types.ModuleType:
    module = types.ModuleType("twice")
    module.NAME = "twice"  # type: ignore[attr-defined]
    module.REQUIRES = ()  # type: ignore[attr-defined]

    @hookimpl(specname="register_routes")
    def core_routes() -> list[Route]:
        return [Route("/one", first)]

    @hookimpl(specname="register_routes")
    def extra_routes() -> list[Route]:
        return [Route("/two", second)]

    module.core_routes = core_routes  # type: ignore[attr-defined]
    module.extra_routes = extra_routes  # type: ignore[attr-defined]
    return module


@pytest.fixture
def site(make_site):
    return make_site(twice_plugin())


def test_both_implementations_are_collected(site):
    paths = sorted(route.path for route in routes_by_plugin(site.view, "register_routes")["twice"])
    assert paths == ["/one", "/two"]


async def test_both_implementations_answer(site):
    from kernel import Actor

    admin = site.records.create(Actor.system("cli"), "users", {"email": "a@example.com", "name": "A", "role": "admin"})
    token = issue_token(site, admin["id"])["token"]
    transport = httpx.ASGITransport(app=create_app(site=site))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver", headers={"Authorization": f"Bearer {token}"}) as client:
        assert (await client.get("/api/v1/plugins/twice/one")).json() == {"from": "first"}
        assert (await client.get("/api/v1/plugins/twice/two")).json() == {"from": "second"}
