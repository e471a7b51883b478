"""Per-request UI state: who is signed in, in which language, and how to render a page.

Language: the signed-in user's choice (:mod:`kernel.preferences`), else the ``crm_locale``
cookie, else ``default_locale`` from ``crm.toml``.
Time zone: the signed-in user's choice (the ``time_zone`` preference), else the ``crm_tz``
cookie the browser sets from its own settings, else the site's (``time_zone`` setting).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from starlette.responses import HTMLResponse, RedirectResponse

from ... import notifications, preferences, timezones
from ...records import Actor
from . import session
from ...i18n import LANGUAGE_NAMES, Formatter, normal_locale, pick, plugin_locale_dirs, translations
from ...messages import Labels, localize
from .menu import build_menu
from .templating import Templates

if TYPE_CHECKING:
    from starlette.requests import Request

    from ...site import Site, View

LOCALE_COOKIE = "crm_locale"
TZ_COOKIE = "crm_tz"


class LoginRequired(Exception):
    """Raised by a page that needs a signed-in user; answered with a redirect to the login page."""


class AdminRequired(Exception):
    """Raised by an admin page for anyone else; answered with a 403 page."""


def timezone_of(request: Request, site: Site | None = None, user_id: int | None = None) -> Any:
    chosen = preferences.get(site, user_id, "time_zone") if site is not None and user_id is not None else None
    if timezones.is_zone(chosen):
        return timezones.zone(chosen)
    name = request.cookies.get(TZ_COOKIE, "")
    if timezones.is_zone(name):
        return timezones.zone(name)
    return timezones.site_zone(site) if site is not None else ZoneInfo("UTC")


@dataclass
class UI:
    """Everything a UI endpoint needs for one request. Build it with :func:`ui_for`."""

    request: Request
    site: Site
    user: Any  # the signed-in user row, or None
    locale: str
    extra: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def view(self) -> View:
        return self.site.view

    @cached_property
    def actor(self) -> Actor:
        if self.user is None:
            raise LoginRequired()
        ip = self.request.client.host if self.request.client else None
        return Actor(user_id=self.user.id, label=self.user.email, role=self.user.role, team_id=self.user.team_id, channel="ui", ip=ip)

    @property
    def is_admin(self) -> bool:
        return self.user is not None and self.user.role == "admin"

    def require_admin(self) -> Actor:
        actor = self.actor
        if not self.is_admin:
            raise AdminRequired()
        return actor

    @cached_property
    def translations(self) -> Any:
        return translations(self.locale, plugin_locale_dirs(self.view))

    def gettext(self, message: str, **values: Any) -> str:
        text = self.translations.gettext(message)
        return text % values if values else text

    def ngettext(self, singular: str, plural: str, n: int, **values: Any) -> str:
        text = self.translations.ngettext(singular, plural, n)
        return text % {"num": n, **values}

    @cached_property
    def tzinfo(self) -> Any:
        return timezone_of(self.request, self.site, self.user.id if self.user is not None else None)

    @cached_property
    def fmt(self) -> Formatter:
        return Formatter(self.locale, self.tzinfo)

    def explain(self, exc: Any, entity: str | None = None) -> Any:
        """``exc`` (a :class:`~kernel.errors.RecordError`) in this page's language, naming ``entity``'s fields by label."""
        return localize(exc, Labels(self.view, entity, self.locale, self.translations.gettext))

    def label(self, labels: Any, fallback: str = "") -> str:
        return pick(labels, self.locale, fallback)

    def render(self, names: str | list[str], status_code: int = 200, **context: Any) -> HTMLResponse:
        templates: Templates = self.request.app.state.ui_templates
        menu = build_menu(self.site, self.actor, self.locale) if self.user is not None else {"main": [], "admin": []}
        base = {
            "ui": self,
            "request": self.request,
            "_": self.gettext,
            "gettext": self.gettext,
            "ngettext": self.ngettext,
            "fmt": self.fmt,
            "locale": self.locale,
            "html_lang": self.locale.replace("_", "-"),
            "languages": LANGUAGE_NAMES,
            "user": self.user,
            "menu": menu,
            "unread": notifications.unread_count(self.site, self.user.id) if self.user is not None else 0,
            "csrf_token": session.csrf_token(self.request),
            "current_path": self.request.url.path,
        }
        html = templates.render(self.view, names, {**base, **context})
        return HTMLResponse(html, status_code=status_code)

    def redirect(self, url: str) -> RedirectResponse:
        return RedirectResponse(url, status_code=303)


def ui_for(request: Request) -> UI:
    """The request's UI state. Language: the signed-in user's choice, else the cookie, else the default."""
    site: Site = request.app.state.site
    user = session.current_user(request)
    chosen = preferences.get(site, user.id, "locale") if user is not None else None
    locale = normal_locale(chosen or request.cookies.get(LOCALE_COOKIE), site.settings.default_locale)
    return UI(request, site, user, locale)
