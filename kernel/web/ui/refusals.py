"""Refusals as pages: sign in first (or set up first), 403 and 404 explained in the user's language."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from ...errors import RecordError
from .context import UI, AdminRequired, LoginRequired, ui_for
from .session import CSRFRejected
from .shell import has_users


def refusal(request: Request, exc: Exception) -> Response:
    """The page answering ``exc`` (one of the refusals a UI endpoint may raise)."""
    if isinstance(exc, LoginRequired):
        target = "/setup" if not has_users(request) else "/login?next=" + quote(request.url.path, safe="/")
        return RedirectResponse(target, status_code=303)
    if isinstance(exc, AdminRequired):
        return _problem(request, 403, lambda ui: ui.gettext("Only administrators can open this page."))
    if isinstance(exc, CSRFRejected):
        return _problem(request, 403, lambda ui: ui.gettext("This form has expired. Go back, reload the page and try again."))
    assert isinstance(exc, RecordError)
    if exc.status == 404:
        return missing_page(request)
    if exc.status == 403:
        return _problem(request, 403, lambda ui: ui.gettext("You may not do this."))
    return _problem(request, exc.status, lambda ui: ui.explain(exc).message)


def missing_page(request: Request) -> Response:
    """404 as a page: a record out of reach, or an address no page answers (a mistyped or old link)."""
    return _problem(request, 404, lambda ui: ui.gettext("This page does not exist, or you may not see it."))


def _problem(request: Request, status: int, reason: Callable[[UI], str]) -> Response:
    ui = ui_for(request)
    return ui.render("problem.html", status_code=status, status=status, reason=reason(ui))
