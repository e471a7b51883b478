"""The signed-in user's own account: ``/account/password`` changes their password.

The change is :func:`kernel.web.auth.change_password`, the one behind ``POST /api/v1/auth/password``:
every other session and token of the user ends, this browser gets a new session.
"""

from __future__ import annotations

import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import Response

from ...errors import RecordError
from .. import auth, sessions
from .context import ui_for
from .session import check_csrf

FIELDS = ("current_password", "new_password", "new_password_again")


async def password_page(request: Request) -> Response:
    ui = ui_for(request)
    actor = ui.actor
    if request.method == "GET":
        return ui.render("account_password.html", errors={}, changed=request.query_params.get("changed") == "1")
    form = await request.form()
    check_csrf(request, form)
    current, new, again = (form.get(name) or "" for name in FIELDS)
    if new != again:
        errors = {"new_password_again": ui.gettext("The two passwords differ.")}
        return ui.render("account_password.html", status_code=422, errors=errors, changed=False)
    site = ui.site
    started: list[str] = []

    def keep(conn: sa.Connection, version: int) -> None:
        replacing = sessions.session_id(site, request)
        started.append(sessions.start(site, conn, actor.user_id, ip=actor.ip, replacing=replacing, version=version))

    try:
        auth.change_password(site, actor, current, new, keep=keep)
    except RecordError as exc:
        if exc.status == 429:
            errors = {"current_password": ui.gettext("Too many attempts; try again in a few minutes.")}
        else:
            errors = {str(d["loc"][-1]): ui.gettext(str(d["msg"])) for d in exc.details[:1]} or {"current_password": exc.message}
        return ui.render("account_password.html", status_code=exc.status, errors=errors, changed=False)
    response = ui.redirect("/account/password?changed=1")
    sessions.set_cookie(site, request, response, started[0])
    return response
