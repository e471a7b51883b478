"""The UI's use of browser sessions. The mechanism itself (cookie, rows, CSRF) is
:mod:`kernel.web.sessions`; passwords and throttling are :func:`kernel.web.auth.login`.
This module only wires them to pages: who is signed in, the token a form carries,
and signing in and out.
"""

from __future__ import annotations

import secrets

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from ... import audit
from ...errors import Forbidden, Unauthorized
from ...records import Actor
from .. import auth, sessions

if TYPE_CHECKING:
    from ...site import Site

_USER = "ui_user"


class CSRFRejected(Exception):
    """A form or htmx request without the session's CSRF token."""


def _site(request: Request) -> Site:
    return request.app.state.site  # type: ignore[no-any-return]


def current_user(request: Request) -> Any:
    """The signed-in user row (cached on the request), or ``None``."""
    if _USER in request.scope.get("state", {}):
        return request.scope["state"][_USER]
    site = _site(request)
    sid = sessions.session_id(site, request)
    user = None
    if sid:
        with site.engine.connect() as conn:
            user = conn.execute(sessions.user_query(sid, site.clock.now())).first()
    request.scope.setdefault("state", {})[_USER] = user
    return user


def csrf_token(request: Request) -> str:
    """The token every form and htmx request of this session must send back ("" before sign-in)."""
    site = _site(request)
    sid = sessions.session_id(site, request)
    return sessions.csrf_token(site, sid) if sid else ""


def check_csrf(request: Request, form: Any) -> None:
    """Refuse a state-changing request whose token (``X-CSRF-Token`` header or form field) is wrong.

    The check is :func:`kernel.web.auth.authenticate`'s, the same the REST API applies to cookies.
    """
    sent = form.get(sessions.CSRF_FIELD) if form is not None else None
    try:
        auth.authenticate(_site(request), request, csrf_token=sent if isinstance(sent, str) else None)
    except (Forbidden, Unauthorized):
        raise CSRFRejected() from None


#: Forms shown before anyone is signed in (login, first-run setup) have no session to tie a
#: CSRF token to, so they use a double-submit cookie: a random token in a SameSite=Strict
#: cookie that another site can neither read nor send, echoed in the form.
FORM_COOKIE = "crm_form_token"


def form_token(request: Request) -> str:
    """The pre-session token for a login or setup form (the browser's current one, or a new one)."""
    kept = request.cookies.get(FORM_COOKIE, "")
    return kept if len(kept) >= 32 else secrets.token_urlsafe(32)


def keep_form_token(request: Request, response: Response, token: str) -> None:
    secure = request.url.scheme == "https"
    response.set_cookie(FORM_COOKIE, token, path="/", httponly=True, samesite="strict", secure=secure)


def check_form_token(request: Request, form: Any) -> None:
    """Refuse a login or setup post whose form token does not match its cookie."""
    sent = form.get(sessions.CSRF_FIELD)
    kept = request.cookies.get(FORM_COOKIE, "")
    if not (isinstance(sent, str) and len(kept) >= 32 and secrets.compare_digest(sent, kept)):
        raise CSRFRejected()


def check_credentials(request: Request, email: Any, password: Any) -> Any:
    """The user with these credentials (throttled and audited by :func:`kernel.web.auth.login`)."""
    return auth.login(_site(request), email, password, ip=auth.client_ip(request), channel="ui")


def sign_in(request: Request, response: Response, user_id: int, *, version: int | None = None) -> None:
    """A new session for the user (``version``: the credentials version the password was checked against)."""
    site = _site(request)
    with site.write() as conn:
        sid = sessions.start(site, conn, user_id, ip=auth.client_ip(request), replacing=sessions.session_id(site, request), version=version)
    sessions.set_cookie(site, request, response, sid)


def sign_out(request: Request, response: Response, actor: Actor) -> None:
    """End the session (audited like ``POST /api/v1/auth/logout``) and drop the cookie."""
    site = _site(request)
    sid = sessions.session_id(site, request)
    if sid:
        with site.write() as conn:
            if sessions.end(conn, sid):
                audit.write(conn, [audit.entry(actor, site.clock.now(), "users", actor.user_id, "logout", {})])
    sessions.clear_cookie(request, response)
