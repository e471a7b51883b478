"""A plugin may implement a route hook twice (``@hookimpl(specname=...)``, e.g. two modules of one
plugin each adding pages): every implementation's routes are served under the plugin's prefix."""

from __future__ import annotations

import types

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from kernel import hookimpl
from kernel.web.plugin_mount import routes_by_plugin


async def first(request: Request) -> JSONResponse:
    return JSONResponse({"answer": "first"})


async def second(request: Request) -> JSONResponse:
    return JSONResponse({"answer": "second"})


def twice() -> types.ModuleType:
    module = types.ModuleType("twice")
    module.NAME = "twice"  # type: ignore[attr-defined]
    module.REQUIRES = ()  # type: ignore[attr-defined]
    module.register_routes = hookimpl(lambda: [Route("/first", first)])  # type: ignore[attr-defined]
    module.register_more_routes = hookimpl(specname="register_routes")(lambda: [Route("/second", second)])  # type: ignore[attr-defined]
    module.register_pages = hookimpl(lambda: [Route("/a", first)])  # type: ignore[attr-defined]
    module.register_more_pages = hookimpl(specname="register_pages")(lambda: [Route("/b", second)])  # type: ignore[attr-defined]
    return module


def test_every_implementation_of_a_route_hook_is_kept(make_site):
    site = make_site(twice())
    for hook, paths in (("register_routes", {"/first", "/second"}), ("register_pages", {"/a", "/b"})):
        assert {route.path for route in routes_by_plugin(site.view, hook)["twice"]} == paths
