"""``/api/v1/meta/forms``: admins list, create, change and delete public forms (:mod:`kernel.forms`).

``GET /forms`` · ``POST /forms`` · ``GET /forms/{id}`` · ``PATCH /forms/{id}`` · ``DELETE /forms/{id}``;
each answer names the form's public ``url`` and its ``embed`` snippet. Admins only (403).
"""

from __future__ import annotations

import html
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from .. import forms
from ..parsing import parse_id
from .api import actor_of, site_of
from .payload import JSON, read_json


def require_admin_of(request: Request) -> Any:
    from .meta import require_admin

    actor = actor_of(request)
    require_admin(actor)
    return actor


def with_links(request: Request, form: dict[str, Any]) -> dict[str, Any]:
    """The form with its public ``url`` and the ``embed`` snippet for another site's page."""
    base = f"{request.url.scheme}://{request.url.netloc}"
    url = f"{base}/public/forms/{form['slug']}"
    title = html.escape(form["title"]["zh_CN"], quote=True)
    embed = f'<iframe src="{url}?embed=1" title="{title}" style="width:100%;max-width:34rem;min-height:640px;border:0" loading="lazy"></iframe>'
    return {**form, "url": url, "embed": embed}


async def list_or_create(request: Request) -> Response:
    actor = require_admin_of(request)
    site = site_of(request)
    if request.method == "GET":
        return JSON({"items": [with_links(request, f) for f in forms.list_forms(site)]})
    created = forms.create(site, actor, await read_json(request))
    return JSON(with_links(request, created), status_code=201)


async def one(request: Request) -> Response:
    actor = require_admin_of(request)
    site = site_of(request)
    form_id = parse_id(request.path_params["id"], ["path", "id"])
    if request.method == "GET":
        return JSON(with_links(request, forms.get(site, form_id)))
    if request.method == "DELETE":
        forms.delete(site, actor, form_id)
        return Response(status_code=204)
    return JSON(with_links(request, forms.update(site, actor, form_id, await read_json(request))))


def form_routes() -> list[BaseRoute]:
    return [
        Route("/forms", list_or_create, methods=["GET", "POST"], name="forms"),
        Route("/forms/{id}", one, methods=["GET", "PATCH", "DELETE"], name="form"),
    ]
