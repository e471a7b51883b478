"""``GET /api/v1/trash?entity=E&limit=&offset=``: the recycle bin as the caller sees it.

What the caller deleted (an admin: everything), newest first, of every enabled entity or of
``entity`` only. Each item names the record (``entity``, ``record_id``, a ``title`` and the
``record`` as it was deleted, hidden fields left out), the rows that went with it
(``children``: entity → count), who deleted it and when, and ``expires_at`` (after that the
purge job removes it). Restoring is ``POST /api/v1/E/{id}/restore`` (see :mod:`kernel.trash`).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from .. import audit, trash
from ..errors import ValidationError
from ..records import DEFAULT_LIMIT, MAX_LIMIT, Actor
from ..site import Site
from .auth import authenticate
from .payload import JSON, parse_count, query_values


def bin_page(site: Site, actor: Actor, entity: str | None, *, limit: int, offset: int) -> dict[str, Any]:
    """The bin's page as the API answers it (the web page shows the same)."""
    entities = list(site.view.entities.values())
    if entity:
        chosen = site.view.entity(entity)
        if chosen is None:
            raise ValidationError.at(["query", "entity"], f"unknown or disabled entity {entity!r}")
        entities = [chosen]
    with site.engine.connect() as conn:
        items, total = trash.listing(site, conn, actor, entities, limit=limit, offset=offset)
    return {"items": items, "total": total, "limit": limit, "offset": offset}


async def list_trash(request: Request) -> Response:
    site: Site = request.app.state.site
    actor = authenticate(site, request)
    params = query_values(request)
    limit = parse_count(params, "limit", DEFAULT_LIMIT, low=1, high=MAX_LIMIT)
    offset = parse_count(params, "offset", 0, low=0)
    return JSON(audit.jsonable(bin_page(site, actor, params.get("entity") or None, limit=limit, offset=offset)))


def trash_routes() -> list[BaseRoute]:
    """Mount under ``/api/v1`` before the generic entity routes."""
    return [Route("/trash", list_trash, methods=["GET"], name="trash")]
