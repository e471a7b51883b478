"""The public space: ``/public/…``, pages and endpoints that anonymous visitors reach without signing in.

``/public/forms/SLUG`` serves the forms admins build (:mod:`kernel.web.public_forms`);
``/public/NAME/…`` serves each enabled plugin's ``register_public_routes``. The space is a
top-level mount of its own, so neither the API's catch-all ``/api/v1/{entity}/{id}/{action}``
nor the UI's ``/r/…`` and ``/p/…`` can take a path from it; ``public`` is a reserved entity name.

Every request here, before a handler sees it:

- gets ``request.state.actor``: :meth:`Actor.external <kernel.records.Actor.external>` —
  channel ``public``, no user, no role, no permission; a handler grants what it needs with
  ``actor.granting("notes.create")`` and nothing more;
- when it changes something (POST, PUT, PATCH, DELETE): is refused with 403 unless its
  ``Origin`` (or, without one, its ``Referer``) is the site's own origin or one listed in
  ``[crm] public_origins`` — there is no session, hence no CSRF token, so the origin is the
  check; and is counted against :data:`POST_LIMIT` per IP address per :data:`POST_WINDOW`
  in the database (:mod:`kernel.ratelimits`), 429 with ``Retry-After`` past it;
- is held to :data:`kernel.web.limits.PUBLIC_BYTES` of body (413 past it).

A listed origin also gets CORS answers (``OPTIONS`` preflight, ``Access-Control-Allow-Origin``),
so a page on that site may ``fetch()`` JSON to ``/public/…``. Requests run on the worker
threads like every other (:mod:`kernel.web.offload`).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Router
from starlette.types import Receive, Scope, Send

from ..ratelimits import rate_limit
from ..errors import Forbidden, NotFound, RecordError
from ..records import Actor
from .auth import SAFE_METHODS, client_ip
from .errors import record_error
from .plugin_mount import PluginRouters

if TYPE_CHECKING:
    from ..site import Site

POST_LIMIT = 120
POST_WINDOW = timedelta(minutes=10)
#: Plugin names whose public routes the kernel's own paths would hide.
KERNEL_PATHS = frozenset({"forms"})


def own_origin(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}".lower()


def request_origin(request: Request) -> str | None:
    """The origin a request says it comes from: ``Origin``, else the scheme and host of ``Referer``."""
    origin = request.headers.get("origin")
    if origin and origin != "null":
        return origin.rstrip("/").lower()
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.scheme and referer.netloc:
        return f"{referer.scheme}://{referer.netloc}".lower()
    return None


def allowed_origins(site: Site, request: Request) -> tuple[str, ...]:
    """The site's own origin and ``[crm] public_origins``."""
    return (own_origin(request), *site.settings.public_origins)


def check_origin(site: Site, request: Request) -> None:
    """Refuse (403) a request that changes something unless it comes from an allowed origin."""
    origin = request_origin(request)
    if origin is None:
        raise Forbidden("a public post must say where it comes from", [{"loc": ["header", "Origin"], "msg": "missing"}])
    if origin not in allowed_origins(site, request):
        raise Forbidden(
            f"posts from {origin} are not accepted",
            [{"loc": ["header", "Origin"], "msg": "not this site nor one of [crm] public_origins"}],
        )


def cors_headers(site: Site, request: Request) -> dict[str, str]:
    """CORS headers for a request from one of ``[crm] public_origins`` (none for others)."""
    origin = request.headers.get("origin", "").rstrip("/").lower()
    if origin and origin in site.settings.public_origins:
        return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
    return {}


class PublicSpace:
    """The ASGI app behind ``Mount("/public", ...)``: the checks above, then the kernel's forms or a plugin's routes."""

    def __init__(self, site: Site, kernel_router: Router):
        self.site, self.kernel_router = site, kernel_router
        self.routers = PluginRouters(site, "register_public_routes")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope)
        path = scope["path"]
        ip = client_ip(request)
        scope.setdefault("state", {})["actor"] = Actor.external(route=path, ip=ip)
        cors = cors_headers(self.site, request)
        if request.method == "OPTIONS":
            headers = {**cors, "Access-Control-Allow-Methods": "GET, POST", "Access-Control-Allow-Headers": "Content-Type",
                       "Access-Control-Max-Age": "600"} if cors else {}
            await Response(status_code=204 if cors else 403, headers=headers)(scope, receive, send)
            return
        try:
            if request.method not in SAFE_METHODS:
                check_origin(self.site, request)
                rate_limit(self.site, f"public:{ip}", POST_LIMIT, POST_WINDOW)
            await self._dispatch(scope, receive, _with_headers(send, cors))
        except RecordError as exc:
            response = problem_page(exc) if wants_html(request) else await record_error(request, exc)
            response.headers.update(cors)  # a listed site's script may read why it was refused
            await response(scope, receive, send)

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        root = scope.get("root_path", "")
        first = scope["path"][len(root):].lstrip("/").split("/", 1)[0]
        if first in KERNEL_PATHS:
            await self.kernel_router(scope, receive, send)
            return
        router = self.routers.get(first)
        if router is None:
            raise NotFound("no public page here", [{"loc": ["path"], "msg": "unknown page or disabled plugin"}])
        await router({**scope, "root_path": f"{root}/{first}"}, receive, send)


#: What a refused visitor reads, by status, in both languages (the page does not know their language).
PROBLEMS = {
    403: ("此表单不接受来自该网站的提交。", "This form does not accept posts from that site."),
    404: ("页面不存在或已停用。", "This page does not exist or is no longer active."),
    413: ("提交的内容过大。", "What you sent is too large."),
    429: ("提交过于频繁，请稍后再试。", "Too many submissions; please try again later."),
}


def wants_html(request: Request) -> bool:
    """A browser's page or form post (not a JSON call)."""
    if request.method in SAFE_METHODS:
        return "application/json" not in request.headers.get("accept", "")
    return request.headers.get("content-type", "").split(";")[0].strip() in ("application/x-www-form-urlencoded", "multipart/form-data")


def problem_page(exc: RecordError) -> HTMLResponse:
    zh, en = PROBLEMS.get(exc.status, ("无法处理此请求。", "This request cannot be handled."))
    retry = getattr(exc, "retry_after", None)
    headers = {"Retry-After": str(int(retry))} if retry is not None else None
    html = (
        '<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{exc.status}</title></head><body style=\"font-family:system-ui,sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem\">"
        f"<p>{zh}</p><p>{en}</p></body></html>"
    )
    return HTMLResponse(html, status_code=exc.status, headers=headers)


def _with_headers(send: Send, headers: dict[str, str]) -> Send:
    if not headers:
        return send
    extra = [(k.lower().encode(), v.encode()) for k, v in headers.items()]

    async def sending(message: dict) -> None:  # type: ignore[type-arg]
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), *extra]}
        await send(message)

    return sending
