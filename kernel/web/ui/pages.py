"""Plugin pages: ``/p/NAME/...`` for every enabled plugin's ``register_pages``.

A page is an ordinary Starlette endpoint. It is reached only by a signed-in user
(others are sent to the login page) and renders inside the UI's layout with
:func:`render`; a form it handles must pass :func:`check_form` (the CSRF check).
A disabled plugin's pages answer 404 with the next request after the view refreshes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.types import Receive, Scope, Send

from ...errors import NotFound, RecordError
from ..plugin_mount import PluginRouters
from .context import UI, AdminRequired, LoginRequired, ui_for
from .refusals import refusal
from .session import CSRFRejected, check_csrf, current_user

if TYPE_CHECKING:
    from ...site import Site


def render(request: Request, template: str | list[str], status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render a plugin's template (usually ``{% extends "kernel:base.html" %}``) for the signed-in user."""
    return ui_for(request).render(template, status_code=status_code, **context)


async def check_form(request: Request) -> Any:
    """The submitted form, after checking its CSRF token (raises, answered with a 403 page)."""
    form = await request.form()
    check_csrf(request, form)
    return form


def ui_of(request: Request) -> UI:
    """The request's UI state: ``.actor`` (channel ``ui``), ``.locale``, ``.gettext``, ``.fmt``."""
    return ui_for(request)


class PluginPages:
    """The ASGI app behind ``Mount("/p/{plugin}", ...)``; routers are rebuilt when the view changes."""

    def __init__(self, site: Site):
        self.site = site
        self.routers = PluginRouters(site, "register_pages")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        try:
            if current_user(request) is None:
                raise LoginRequired()
            router = self.routers.get(scope["path_params"]["plugin"])
            if router is None:
                raise NotFound("no such page")
            await router(scope, receive, send)
        except (LoginRequired, AdminRequired, CSRFRejected, RecordError) as exc:
            await refusal(request, exc)(scope, receive, send)
