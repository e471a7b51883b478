"""The error envelope: every failure the web app answers, as one JSON shape.

``{"error": {"code": ..., "message": ..., "details": [{"loc": [...], "msg": ...}]}}``

:class:`~kernel.errors.RecordError` carries its own status and code; Starlette's
404 and 405 are translated (outside ``/api/``, a browser's GET of an address no page answers gets the
web UI's 404 page, in the visitor's language); a value the database cannot store or a constraint it
enforces is a 422 (409 for a unique value taken), as a safety net; anything
else is a bug, logged with its traceback and answered with a generic 500 that
says nothing about SQL or code.
"""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import preferences
from ..errors import RecordError, Unauthorized
from ..i18n import plugin_locale_dirs, translations
from ..messages import Labels, localize, public_details
from ..settings import LOCALES
from .payload import JSON

log = logging.getLogger(__name__)

HTTP_CODES = {
    400: "validation_error",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    422: "validation_error",
    429: "rate_limited",
}


def envelope(status: int, code: str, message: str, details: list[dict[str, Any]] | None = None, headers: dict[str, str] | None = None) -> JSON:
    return JSON({"error": {"code": code, "message": message, "details": public_details(details or [])}}, status_code=status, headers=headers)


def accepted_locale(header: str) -> str | None:
    """The first supported language of an ``Accept-Language`` header (``zh``, ``zh-CN``, ``en-US``...), by weight."""
    ranked = []
    for index, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                weight = 0.0
        ranked.append((-weight, index, tag.strip().lower()))
    for _, _, tag in sorted(ranked):
        if tag.startswith("zh"):
            return "zh_CN"
        if tag.startswith("en"):
            return "en"
    return None


def reader_locale(request: Request) -> str | None:
    """The caller's language: ``Accept-Language``, else the signed-in user's preference; None if neither says."""
    chosen = accepted_locale(request.headers.get("accept-language", ""))
    if chosen is not None:
        return chosen
    user_id = getattr(request.state, "crm_user_id", None)
    if user_id is not None:
        preferred = preferences.get(request.app.state.site, user_id, "locale")
        if preferred in LOCALES:
            return str(preferred)
    return None


def localized(request: Request, exc: RecordError) -> RecordError:
    """``exc`` in the caller's language (unchanged when the caller named none: the API speaks English)."""
    locale = reader_locale(request)
    if locale is None:
        return exc
    view = request.app.state.site.view
    catalog = translations(locale, plugin_locale_dirs(view))
    entity = None if request.url.path.startswith("/api/v1/meta/") else request.path_params.get("entity")  # a record's fields
    return localize(exc, Labels(view, entity, locale, catalog.gettext))


async def record_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RecordError)
    exc = localized(request, exc)
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthorized) else None
    retry = getattr(exc, "retry_after", None)
    if retry is not None:
        headers = {"Retry-After": str(int(retry))}
    return envelope(exc.status, exc.code, exc.message, exc.details, headers)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if not request.url.path.startswith("/api/"):
        if exc.status_code == 404 and request.method in ("GET", "HEAD") and "text/html" in request.headers.get("accept", ""):
            from .ui.refusals import missing_page  # the web UI's page, in the visitor's language

            return missing_page(request)
        return PlainTextResponse(exc.detail, status_code=exc.status_code, headers=exc.headers)
    if exc.status_code == 404:
        message = f"no API route {request.url.path}"
    elif exc.status_code == 405:
        message = f"{request.method} is not allowed here; allowed: {(exc.headers or {}).get('Allow', 'none')}"
    else:
        message = str(exc.detail)
    return envelope(exc.status_code, HTTP_CODES.get(exc.status_code, "error"), message, headers=exc.headers)


async def unstorable_value(request: Request, exc: Exception) -> Response:
    """A value passed validation but the database refused it (out of range, say): the caller's fault."""
    log.info("database refused a value on %s %s: %s", request.method, request.url.path, exc)
    return envelope(422, "validation_error", "a value is out of range or cannot be stored")


async def integrity_error(request: Request, exc: Exception) -> Response:
    """A constraint the service layer did not check first; answered without naming SQL."""
    assert isinstance(exc, sa.exc.IntegrityError)
    log.warning("constraint refused a write on %s %s: %s", request.method, request.url.path, exc.orig)
    state = getattr(exc.orig, "sqlstate", None) or ""
    text = str(exc.orig).upper()
    if state == "23505" or "UNIQUE" in text:
        return envelope(409, "conflict", "a value that must be unique is already taken")
    if state == "23503" or "FOREIGN KEY" in text:
        return envelope(422, "validation_error", "a value refers to a record that does not exist")
    return envelope(422, "validation_error", "a value breaks a rule of the stored data")


EXCEPTION_HANDLERS = {
    RecordError: record_error,
    HTTPException: http_error,
    sa.exc.DataError: unstorable_value,
    sa.exc.IntegrityError: integrity_error,
}


class InternalErrors:
    """ASGI middleware: an unexpected exception becomes a logged, generic 500 envelope.

    Starlette's own last-resort handler re-raises to the server after answering;
    this one answers, logs once, and keeps the traceback out of the response.
    """

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except ClientDisconnect:
            log.info("client went away during %s %s", scope.get("method"), scope.get("path"))  # no one to answer
        except Exception:
            log.exception("unexpected error on %s %s", scope.get("method"), scope.get("path"))
            if started:
                raise
            response = envelope(500, "internal_error", "an unexpected error occurred; it has been logged")
            await response(scope, receive, send)
