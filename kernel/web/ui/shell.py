"""Signing in and out, first-run setup, and the language switch."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from ... import preferences
from ...errors import RecordError
from ...models import User
from ...records import Actor
from .context import LOCALE_COOKIE, ui_for
from .forms import errors_by_field
from ...i18n import normal_locale
from .session import (
    check_credentials,
    check_csrf,
    check_form_token,
    current_user,
    form_token,
    keep_form_token,
    sign_in,
    sign_out,
)

ONE_YEAR = 365 * 24 * 3600


def safe_next(value: Any, default: str = "/") -> str:
    """A local path to go back to; anything else (``//host``, ``https://…``) becomes ``default``."""
    text = value if isinstance(value, str) else ""
    if not text.startswith("/") or text.startswith("//") or "\\" in text or "\n" in text or "\r" in text:
        return default
    return text


def with_form_token(request: Request, response: Response, token: str) -> Response:
    keep_form_token(request, response, token)
    return response


def has_users(request: Request) -> bool:
    site = request.app.state.site
    with site.engine.connect() as conn:
        return conn.scalar(sa.select(User.__table__.c.id).limit(1)) is not None


async def login_page(request: Request) -> Response:
    ui = ui_for(request)
    if not has_users(request):
        return ui.redirect("/setup")
    next_url = safe_next(request.query_params.get("next"))
    token = form_token(request)
    if request.method == "GET":
        if ui.user is not None:
            return ui.redirect(next_url)
        return with_form_token(request, ui.render("login.html", next_url=next_url, email="", error=None, csrf_token=token), token)
    form = await request.form()
    check_form_token(request, form)
    next_url = safe_next(form.get("next"))
    email = form.get("email")
    try:
        user = check_credentials(request, email, form.get("password"))
    except RecordError as exc:
        message = ui.gettext("Too many attempts; try again in a few minutes.") if exc.status == 429 else ui.gettext("Wrong email or password.")
        page = ui.render("login.html", status_code=exc.status, next_url=next_url, email=email or "", error=message, csrf_token=token)
        return with_form_token(request, page, token)
    response = ui.redirect(next_url)
    sign_in(request, response, user.id, version=user.credentials_version)
    return response


async def logout(request: Request) -> Response:
    form = await request.form()
    check_csrf(request, form)
    response = RedirectResponse("/login", status_code=303)
    sign_out(request, response, ui_for(request).actor)
    return response


async def setup_page(request: Request) -> Response:
    """First run: create the first administrator. Gone once any user exists."""
    ui = ui_for(request)
    if has_users(request):
        return ui.redirect("/login")
    token = form_token(request)
    if request.method == "GET":
        return with_form_token(request, ui.render("setup.html", values={}, errors={}, other_errors=[], csrf_token=token), token)
    form = await request.form()
    check_form_token(request, form)
    values = {k: form.get(k) or "" for k in ("email", "name")}
    if form.get("password") != form.get("password_again"):
        errors = {"password_again": ui.gettext("The two passwords differ.")}
        return ui.render("setup.html", status_code=422, values=values, errors=errors, other_errors=[], csrf_token=token)
    actor = Actor(user_id=None, label="setup", role="admin", channel="ui", ip=request.client.host if request.client else None, raised_for="setup")
    try:
        user = ui.site.records.create(actor, "users", {**values, "password": form.get("password") or None, "role": "admin"})
    except RecordError as exc:
        exc = ui.explain(exc, "users")
        errors, other = errors_by_field(exc.details)
        others = other or ([] if errors else [exc.message])
        return ui.render("setup.html", status_code=exc.status, values=values, errors=errors, other_errors=others, csrf_token=token)
    response = ui.redirect("/admin/plugins?welcome=1")
    sign_in(request, response, user["id"])
    return response


async def switch_language(request: Request) -> Response:
    """Pick the UI's language and go back to ``next``.

    Signed in: ``POST /lang`` (form with ``to``, ``next`` and the CSRF token) keeps the choice
    with the user, so it follows them to every browser. Before sign-in (login, setup):
    ``GET /lang?to=en&next=/path`` keeps it in a cookie (a year).
    """
    site = request.app.state.site
    if request.method == "POST":
        form = await request.form()
        check_csrf(request, form)
        wanted, next_url = form.get("to"), form.get("next")
    else:
        wanted, next_url = request.query_params.get("to"), request.query_params.get("next")
    locale = normal_locale(wanted if isinstance(wanted, str) else None, site.settings.default_locale)
    if request.method == "POST":
        preferences.put(site, current_user(request).id, "locale", locale)
    response = RedirectResponse(safe_next(next_url), status_code=303)
    response.set_cookie(LOCALE_COOKIE, locale, max_age=ONE_YEAR, path="/", samesite="lax", httponly=True)
    return response


def signed_in(request: Request) -> bool:
    return current_user(request) is not None
