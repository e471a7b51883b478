"""Request body caps, per route: ASGI middleware that answers 413 before a large body is read.

A body announced larger than its route's cap (``Content-Length``) is refused at once, unread;
a body sent without a length (chunked) is counted as it streams in, and refused the moment it
passes the cap. The caps:

- sign-in routes (``/api/v1/auth/*``, ``/login``, ``/setup``): :data:`AUTH_BYTES` (16 KB);
- anonymous visitors' routes (``/public/*``): :data:`PUBLIC_BYTES` (64 KB);
- the import page's upload (``POST /r/E/import``): ``[crm] import_max_bytes`` plus
  :data:`FORM_OVERHEAD` (the page itself answers a file over the limit with its own message);
- a file attached to a record (``POST /api/v1/E/ID/files``, ``POST /r/E/ID/files``):
  ``[crm] file_max_bytes`` plus :data:`FORM_OVERHEAD`;
- everything else, JSON and forms alike: :data:`DEFAULT_BYTES` (1 MB).

The refusal is the API's error envelope (``payload_too_large``) under ``/api/``, a short page in
both languages elsewhere.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from starlette.exceptions import HTTPException
from starlette.responses import HTMLResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..filereading import Limits
from .errors import envelope

if TYPE_CHECKING:
    from ..site import Site

DEFAULT_BYTES = 2**20
AUTH_BYTES = 16 * 2**10
PUBLIC_BYTES = 64 * 2**10
FORM_OVERHEAD = 2**20
_AUTH = re.compile(r"^/(api/v1/auth/.*|login|setup)$")
_IMPORT_UPLOAD = re.compile(r"^/r/[^/]+/import$")
_FILE_UPLOAD = re.compile(r"^/(api/v1|r)/[^/]+/[^/]+/files$")


def body_cap(site: Site, method: str, path: str) -> int:
    """The most bytes a request body may have on ``path``."""
    if _AUTH.match(path):
        return AUTH_BYTES
    if path.startswith("/public/"):
        return PUBLIC_BYTES
    if method == "POST" and _IMPORT_UPLOAD.match(path):
        return Limits.for_settings(site.settings).bytes + FORM_OVERHEAD
    if method == "POST" and _FILE_UPLOAD.match(path):
        return int(site.settings.file_max_bytes) + FORM_OVERHEAD
    return DEFAULT_BYTES


def too_large(path: str, cap: int) -> Response:
    message = f"the request body is larger than {cap:,} bytes, the most this route accepts"
    if path.startswith("/api/"):
        return envelope(413, "payload_too_large", message)
    size = f"{cap / 2**20:g} MB" if cap >= 2**20 else f"{cap // 2**10} KB"
    return HTMLResponse(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>413</title></head><body>"
        f"<h1>请求过大 · Request too large</h1><p>此页面最多接受 {size} 的数据。</p><p>This page accepts at most {size}.</p>"
        "<p><a href=\"javascript:history.back()\">返回 · Back</a></p></body></html>",
        status_code=413,
    )


class BodyLimits:
    """ASGI middleware: each request body within its route's cap (:func:`body_cap`), else 413."""

    def __init__(self, app: ASGIApp, site: Site):
        self.app, self.site = app, site

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        cap = body_cap(self.site, scope["method"], path)
        length = dict(scope["headers"]).get(b"content-length", b"")
        if length and (not length.isdigit() or int(length) > cap):
            await too_large(path, cap)(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > cap:
                    raise HTTPException(413, f"the request body is larger than {cap:,} bytes, the most this route accepts")
            return message

        await self.app(scope, counted, send)
