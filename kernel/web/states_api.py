"""State machines over HTTP (see :mod:`kernel.states`), mounted under ``/api/v1``:

* ``GET /api/v1/meta/entities/E/states[?set=KEY]`` — the entity's states, by set (kanban columns);
  anyone who may read ``E``;
* admin, for admin-edited states (``set`` names the set when the entity has ``set_by``):
  ``POST …/states?set=KEY`` adds one (201), ``PUT …/states?set=KEY`` ``{"order": [keys]}`` sets their order,
  ``PATCH …/states/{key}?set=KEY`` renames or changes one, ``DELETE …/states/{key}?set=KEY&move_to=OTHER``
  removes one (``{"moved": N}``; 409 naming how many records use it when ``move_to`` is missing);
* ``GET /api/v1/E/{id}/transitions?limit=&offset=`` — the record's state events, oldest first.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from .. import audit, permissions
from ..errors import Forbidden, ValidationError
from ..records import MAX_LIMIT
from .api import actor_of, record_id, site_of
from .meta import require_admin
from .payload import JSON, parse_count, query_values, read_json

DEFAULT_EVENTS = 100


def _set(request: Request, *allowed: str) -> str | None:
    params = query_values(request)
    unknown = [key for key in params if key not in ("set", *allowed)]
    if unknown:
        raise ValidationError.at(["query", unknown[0]], f"unknown parameter (allowed: {', '.join(('set', *allowed))})")
    return params.get("set")


async def entity_states(request: Request) -> Response:
    site, actor = site_of(request), actor_of(request)
    entity = request.path_params["entity"]
    set_key = _set(request)
    if request.method == "GET":
        if not permissions.allowed(site, actor, entity, "read"):
            raise Forbidden(f"you may not read {entity}")
        return JSON(site.states.describe(entity, set_key))
    require_admin(actor)
    body = await read_json(request)
    if request.method == "POST":
        return JSON(site.states.add(actor, entity, set_key, body), status_code=201)
    if not isinstance(body, dict) or set(body) != {"order"}:
        raise ValidationError.at(["body", "order"], "send {\"order\": [every state key, in order]}")
    return JSON(site.states.reorder(actor, entity, set_key, body["order"]))


async def entity_state(request: Request) -> Response:
    site, actor = site_of(request), actor_of(request)
    require_admin(actor)
    entity, key = request.path_params["entity"], request.path_params["key"]
    if request.method == "DELETE":
        params = query_values(request)
        set_key = _set(request, "move_to")
        moved = site.states.remove(actor, entity, set_key, key, move_to=params.get("move_to") or None)
        return JSON({"moved": moved})
    set_key = _set(request)
    return JSON(site.states.change(actor, entity, set_key, key, await read_json(request)))


async def record_transitions(request: Request) -> Response:
    site, actor = site_of(request), actor_of(request)
    params = query_values(request)
    limit = parse_count(params, "limit", DEFAULT_EVENTS, low=1, high=MAX_LIMIT)
    offset = parse_count(params, "offset", 0, low=0)
    items = site.states.events(actor, request.path_params["entity"], record_id(request), limit=limit, offset=offset)
    return JSON({"items": audit.jsonable(items), "limit": limit, "offset": offset})


def state_routes() -> list[BaseRoute]:
    """The ``/meta/entities/E/states`` routes; mount them before ``/meta``."""
    return [
        Route("/meta/entities/{entity}/states", entity_states, methods=["GET", "POST", "PUT"], name="entity_states"),
        Route("/meta/entities/{entity}/states/{key}", entity_state, methods=["PATCH", "DELETE"], name="entity_state"),
    ]


def transition_routes() -> list[BaseRoute]:
    """``/E/{id}/transitions``; mount it after every fixed prefix, before the generic entity routes."""
    return [Route("/{entity}/{id}/transitions", record_transitions, methods=["GET"], name="record_transitions")]
