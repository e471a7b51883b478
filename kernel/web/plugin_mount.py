"""Plugin routes: ``/api/v1/plugins/NAME/...`` for every enabled plugin's ``register_routes``.

One ASGI app serves all of them. On each request it looks the plugin up in the
site's current view, so enabling or disabling a plugin adds or removes its
routes as soon as the view refreshes; the routers are rebuilt only when the
view's version changes. Requests are authenticated before a plugin sees them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.routing import BaseRoute, Router
from starlette.types import Receive, Scope, Send

from ..errors import NotFound
from .auth import authenticate

if TYPE_CHECKING:
    from ..site import Site, View


def routes_by_plugin(view: View, hook: str) -> dict[str, list[BaseRoute]]:
    """Each enabled plugin's answer to a route-registering ``hook``, by plugin name: the routes of all
    its implementations of it (a plugin may implement a hook twice, ``@hookimpl(specname=...)``)."""
    found: dict[str, list[BaseRoute]] = {}
    for impl in getattr(view.pm.hook, hook).get_hookimpls():
        routes = impl.function()
        if routes:
            found.setdefault(impl.plugin_name, []).extend(routes)
    return found


class PluginRouters:
    """One Router per enabled plugin for a route hook, rebuilt only when the site's view changes."""

    def __init__(self, site: Site, hook: str):
        self.site, self.hook = site, hook
        self._version: int | None = None
        self._routers: dict[str, Router] = {}

    def get(self, plugin: str) -> Router | None:
        view = self.site.view
        if view.version != self._version:
            self._routers = {name: Router(routes) for name, routes in routes_by_plugin(view, self.hook).items()}
            self._version = view.version
        return self._routers.get(plugin)


class PluginMount:
    """The ASGI app behind ``Mount("/plugins/{plugin}", ...)``."""

    def __init__(self, site: Site):
        self.site = site
        self.routers = PluginRouters(site, "register_routes")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        name = scope["path_params"]["plugin"]
        router = self.routers.get(name)
        if router is None:
            raise NotFound(f"no enabled plugin {name!r} with routes", [{"loc": ["path", "plugin"], "msg": "unknown or disabled plugin"}])
        scope.setdefault("state", {})["actor"] = authenticate(self.site, Request(scope))
        await router(scope, receive, send)
