"""``/public/forms/SLUG``: an admin's form (:mod:`kernel.forms`) for anonymous visitors.

``GET`` renders it in the visitor's language (``?lang=``, else the ``crm_locale`` cookie,
else ``Accept-Language``, else ``default_locale``), on a page of its own with no sign-in
chrome, fit for a 375 px phone; ``?embed=1`` is the variant for an ``<iframe>`` on another
site (which must be listed in ``[crm] public_origins``: the page's ``frame-ancestors``
names only those and the site itself).

``POST`` takes the HTML form or JSON (``{"name": ..., "email": ..., "consent": true}``,
fields by name, custom ones too). Each IP may post ``per_hour`` times per form (counted in
the database, 429 past it). A filled honeypot answers like a success and stores nothing.
Wrong input: the form again with each message under its field (422), or the JSON error
envelope naming the field. Success: the thank-you text, or a 303 to the form's redirect URL;
JSON gets ``201 {"ok": true, "message": ..., "redirect_url": ...}`` (no record id: the
visitor may not read what they created).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from .. import forms
from ..errors import RecordError, ValidationError
from ..fielddescriptions import N_
from ..i18n import normal_locale, pick, plugin_locale_dirs, translations
from ..messages import Labels, localize
from ..settings import LOCALES
from .payload import read_json
from ..ratelimits import rate_limit
from .public import problem_page, wants_html
from .ui.forms import errors_by_field, read_form

HOUR = timedelta(hours=1)
#: The write path's words a visitor sees most, translated on the page.
VISITOR_MESSAGES = (N_("is required"), N_("is not an email address"), N_("String should have at least 1 character"))
LOCALE_COOKIE = "crm_locale"


def visitor_locale(request: Request, default: str) -> str:
    chosen = request.query_params.get("lang") or request.cookies.get(LOCALE_COOKIE)
    if chosen in LOCALES:
        return chosen
    for part in request.headers.get("accept-language", "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("zh"):
            return "zh_CN"
        if tag.startswith("en"):
            return "en"
    return normal_locale(None, default)


def _page(request: Request, form: dict[str, Any], locale: str, status: int = 200, **context: Any) -> HTMLResponse:
    site = request.app.state.site
    view = site.view
    catalog = translations(locale, plugin_locale_dirs(view))

    def gettext(message: str, **values: Any) -> str:
        text = catalog.gettext(message)
        return text % values if values else text

    embed = request.query_params.get("embed") == "1"
    context["errors"] = {key: gettext(message) for key, message in context.get("errors", {}).items()}
    html = request.app.state.ui_templates.render(view, "public_form.html", {
        "_": gettext, "gettext": gettext, "locale": locale, "html_lang": locale.replace("_", "-"),
        "form": form, "title": pick(form["title"], locale), "consent_text": pick(form["consent"], locale) if form["consent"] else "",
        "fields": forms.shown_fields(view, form), "values": {}, "errors": {}, "other_errors": [], "choices": {}, "refs": {},
        "honeypot": forms.HONEYPOT, "embed": embed, "action": f"/public/forms/{form['slug']}" + ("?embed=1" if embed else ""),
        "org_name": site.settings.org_name, "consent_error": None, "consent_checked": False, "thanks": None, **context,
    })
    frame = " ".join(("'self'", *site.settings.public_origins))
    return HTMLResponse(html, status_code=status, headers={"Content-Security-Policy": f"frame-ancestors {frame}",
                                                           "Cache-Control": "no-store"})


async def form_page(request: Request) -> Response:
    site = request.app.state.site
    try:
        form = forms.active_form(site, request.path_params["slug"])
    except RecordError as exc:
        if wants_html(request):
            return problem_page(exc)
        raise
    locale = visitor_locale(request, site.settings.default_locale)
    if request.method == "GET":
        return _page(request, form, locale)
    actor = request.state.actor
    html = wants_html(request)
    try:
        rate_limit(site, f"form:{form['slug']}:{actor.ip}", form["per_hour"], HOUR)
        data, consent, trapped, locale = await _read(request, form, locale, html)
        if not trapped:
            forms.submit(site, form, data, consent=consent, ip=actor.ip, locale=locale)
    except RecordError as exc:
        if not html:
            raise
        if exc.status not in (409, 422):
            return problem_page(exc)
        view = site.view
        exc = localize(exc, Labels(view, form["entity"], locale, translations(locale, plugin_locale_dirs(view)).gettext))
        errors, other = errors_by_field(exc.details)
        consent_error = errors.pop("consent", None)
        typed = await request.form()
        return _page(request, form, locale, 422, values=dict(typed), errors=errors, consent_error=consent_error,
                     other_errors=other or ([] if errors or consent_error else [exc.message]), consent_checked="consent" in typed)
    return _thanks(request, form, locale, html)


async def _read(request: Request, form: dict[str, Any], locale: str, html: bool) -> tuple[dict[str, Any], bool, bool, str]:
    """``(record data, consent ticked, honeypot filled, locale)`` from the form post or the JSON body."""
    fields = forms.shown_fields(request.app.state.site.view, form)
    if html:
        posted = await request.form()
        lang = str(posted.get("lang") or "")
        return (read_form(fields, posted, None, creating=True), "consent" in posted, bool(str(posted.get(forms.HONEYPOT) or "").strip()),
                lang if lang in LOCALES else locale)
    body = await read_json(request)
    if not isinstance(body, dict):
        raise ValidationError.at(["body"], "must be a JSON object")
    body = dict(body)
    trapped = bool(body.pop(forms.HONEYPOT, None))
    consent = body.pop("consent", False)
    if not isinstance(consent, bool):
        raise ValidationError.at(["body", "consent"], "must be true or false")
    lang = body.pop("lang", None)
    by_name = {f.name: f for f in fields}
    data: dict[str, Any] = {}
    for key, value in body.items():
        f = by_name.get(key)
        if f is None:
            raise ValidationError.at(["body", key], f"unknown field (this form takes: {', '.join(by_name)})")
        if f.custom:
            data.setdefault("custom", {})[key] = value
        else:
            data[key] = value
    return data, consent, trapped, lang if lang in LOCALES else locale


def _thanks(request: Request, form: dict[str, Any], locale: str, html: bool) -> Response:
    message = pick(form["thank_you"], locale)
    if not html:
        return JSONResponse({"ok": True, "message": message, "redirect_url": form["redirect_url"]}, status_code=201)
    if form["redirect_url"]:
        return RedirectResponse(form["redirect_url"], status_code=303)
    return _page(request, form, locale, thanks=message)


def public_form_routes() -> list[BaseRoute]:
    return [Route("/forms/{slug}", form_page, methods=["GET", "POST"], name="public_form")]
