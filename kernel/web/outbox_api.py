"""Admin views on the outbox (:mod:`kernel.outbox`), mounted under ``/api/v1``:

* ``GET /api/v1/outbox/dead?subscriber=&limit=&offset=`` — dead letters, newest first:
  ``{"items": [{"id", "subscriber", "event_id", "event", "entity", "record_id", "at",
  "attempts", "error", "updated_at"}], "total": N}``;
* ``POST /api/v1/outbox/dead/{id}/retry`` — deliver that one again at the next pass
  (its attempts start over) → ``{"retried": id}``; 404 when no dead letter has that id.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from .. import outbox
from ..audit import jsonable
from ..errors import NotFound
from ..parsing import optional_id
from ..records import DEFAULT_LIMIT, MAX_LIMIT
from .security_api import _admin, _integer


async def dead_letters(request: Request) -> JSONResponse:
    site, _ = _admin(request)
    params = request.query_params
    limit = _integer(params, "limit", DEFAULT_LIMIT, low=1, high=MAX_LIMIT) or DEFAULT_LIMIT
    offset = _integer(params, "offset", 0) or 0
    items, total = outbox.dead_letters(site, subscriber=params.get("subscriber") or None, limit=limit, offset=offset)
    return JSONResponse({"items": jsonable(items), "total": total, "limit": limit, "offset": offset})


async def retry_dead_letter(request: Request) -> JSONResponse:
    site, _ = _admin(request)
    letter = optional_id(request.path_params["id"])
    if letter is None or not outbox.retry(site, letter):
        raise NotFound(f"no dead letter with id {request.path_params['id']}")
    return JSONResponse({"retried": letter})


def outbox_routes() -> list[BaseRoute]:
    return [
        Route("/outbox/dead", dead_letters, methods=["GET"], name="outbox_dead"),
        Route("/outbox/dead/{id}/retry", retry_dead_letter, methods=["POST"], name="outbox_retry"),
    ]
