"""Generic REST for every enabled entity, resolved from the site's view on each request.

``GET/POST /api/v1/E``, ``GET/PATCH/DELETE /api/v1/E/{id}``,
``GET /api/v1/E/{id}/history``, ``GET /api/v1/E/{id}/activity`` and ``POST /api/v1/E/{id}/ACTION``.

Endpoints are ``async def`` and call the synchronous records service inline:
on SQLite a short query on the event loop beats a hop through the thread pool
several times over. Every write still goes through :class:`~kernel.records.Records`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from .. import activity, audit
from ..errors import Conflict, NotFound, ValidationError
from ..records import DEFAULT_LIMIT, MAX_LIMIT, Actor
from .auth import authenticate
from .payload import JSON, parse_count, query_values, read_json

if TYPE_CHECKING:
    import sqlalchemy as sa

    from ..site import Site, View

#: Query parameters that are not filters.
#: ``total_exact=true`` counts every match; by default a list counts up to the ``count_cap`` setting.
CONTROL_PARAMS = ("limit", "offset", "sort", "q", "on_duplicate", "total_exact")
ON_DUPLICATE = ("warn", "refuse")
HISTORY_FIELDS = ("id", "at", "action", "actor", "actor_id", "channel", "changes")
_ID = re.compile(r"^[1-9][0-9]{0,17}$")


def site_of(request: Request) -> Site:
    return request.app.state.site  # type: ignore[no-any-return]


def actor_of(request: Request) -> Actor:
    """The authenticated caller (401 otherwise)."""
    return authenticate(site_of(request), request)


def record_id(request: Request) -> int:
    text = request.path_params["id"]
    if not _ID.match(text):
        raise NotFound(f"no record {text!r}", [{"loc": ["path", "id"], "msg": "must be a positive integer"}])
    return int(text)


def public(view: View, entity: str, record: dict[str, Any]) -> dict[str, Any]:
    """A record as the API shows it: values of removed custom fields left out."""
    custom = record.get("custom")
    if custom:
        fields = view.fields(entity)
        record = {**record, "custom": {k: v for k, v in custom.items() if k in fields}}
    return record


def duplicates_of(site: Site, view: View, conn: sa.Connection, entity: str, record: dict[str, Any]) -> list[int]:
    """Ids of other records the ``find_duplicates`` hook says look like ``record``."""
    found = view.pm.hook.find_duplicates(site=site, conn=conn, entity=entity, values=record)
    return sorted({int(i) for batch in found for i in batch or () if i != record["id"]})


async def list_records(request: Request) -> Response:
    site, entity = site_of(request), request.path_params["entity"]
    actor = actor_of(request)
    params = query_values(request)
    limit = parse_count(params, "limit", DEFAULT_LIMIT, low=1, high=MAX_LIMIT)
    offset = parse_count(params, "offset", 0, low=0)
    sort, q = params.pop("sort", None), params.pop("q", None)
    params.pop("on_duplicate", None)
    exact = params.pop("total_exact", "false")
    if exact not in ("true", "false"):
        raise ValidationError.at(["query", "total_exact"], "must be true or false")
    page = site.records.list(
        actor, entity, filters=params, sort=sort, q=q or None, limit=limit, offset=offset, exact_total=exact == "true"
    )
    view = site.view
    items = [public(view, entity, item) for item in page.items]
    return JSON({"items": items, "total": page.total, "total_exact": page.total_exact, "limit": page.limit, "offset": page.offset})


async def create_record(request: Request) -> Response:
    site, entity = site_of(request), request.path_params["entity"]
    actor = actor_of(request)
    params = query_values(request)
    on_duplicate = params.get("on_duplicate", "warn")
    if on_duplicate not in ON_DUPLICATE:
        raise ValidationError.at(["query", "on_duplicate"], "must be 'warn' or 'refuse'")
    body = await read_json(request)
    view = site.view
    with site.write() as conn:
        record = site.records.create(actor, entity, body, conn=conn)
        ids = duplicates_of(site, view, conn, entity, record)
        if ids and on_duplicate == "refuse":
            listed = ", ".join(map(str, ids))
            raise Conflict(f"this looks like a duplicate of {entity} {listed}", [{"loc": ["body"], "msg": "possible duplicate", "ids": ids}])
    result = public(view, entity, record)
    if ids:
        result["warnings"] = [{"code": "duplicate", "ids": ids}]
    return JSON(result, status_code=201)


async def get_record(request: Request) -> Response:
    site, entity = site_of(request), request.path_params["entity"]
    actor = actor_of(request)
    record = site.records.get(actor, entity, record_id(request))
    return JSON(public(site.view, entity, record))


async def update_record(request: Request) -> Response:
    site, entity = site_of(request), request.path_params["entity"]
    actor = actor_of(request)
    id_ = record_id(request)
    body = await read_json(request)
    record = site.records.update(actor, entity, id_, body)
    return JSON(public(site.view, entity, record))


async def delete_record(request: Request) -> Response:
    site, entity = site_of(request), request.path_params["entity"]
    actor = actor_of(request)
    site.records.delete(actor, entity, record_id(request))
    return Response(status_code=204)


async def record_history(request: Request) -> Response:
    site, entity = site_of(request), request.path_params["entity"]
    actor = actor_of(request)
    id_ = record_id(request)
    params = query_values(request)
    limit = parse_count(params, "limit", DEFAULT_LIMIT, low=1, high=MAX_LIMIT)
    offset = parse_count(params, "offset", 0, low=0)
    entries = site.records.history(actor, entity, id_, limit=limit, offset=offset)
    items = [{k: entry[k] for k in HISTORY_FIELDS} for entry in entries]
    return JSON({"items": audit.jsonable(items), "limit": limit, "offset": offset})


async def record_activity(request: Request) -> Response:
    site, entity = site_of(request), request.path_params["entity"]
    actor = actor_of(request)
    id_ = record_id(request)
    params = query_values(request)
    limit = parse_count(params, "limit", activity.DEFAULT_LIMIT, low=1, high=activity.MAX_LIMIT)
    offset = parse_count(params, "offset", 0, low=0)
    return JSON(activity.record_activity(site, actor, entity, id_, limit=limit, offset=offset))


async def run_action(request: Request) -> Response:
    site, entity = site_of(request), request.path_params["entity"]
    actor = actor_of(request)
    id_ = record_id(request)
    body = await read_json(request)
    result = site.records.act(actor, entity, id_, request.path_params["action"], body)
    return JSON(result if result is not None else {})


async def collection(request: Request) -> Response:
    return await (create_record if request.method == "POST" else list_records)(request)


async def member(request: Request) -> Response:
    handler = {"PATCH": update_record, "DELETE": delete_record}.get(request.method, get_record)  # GET, HEAD
    return await handler(request)


def record_routes() -> list[BaseRoute]:
    """The entity routes; mount them last under ``/api/v1``: ``{entity}`` matches any name."""
    return [
        Route("/{entity}", collection, methods=["GET", "POST"], name="records"),
        Route("/{entity}/{id}", member, methods=["GET", "PATCH", "DELETE"], name="record"),
        Route("/{entity}/{id}/history", record_history, methods=["GET"], name="record_history"),
        Route("/{entity}/{id}/activity", record_activity, methods=["GET"], name="record_activity"),
        Route("/{entity}/{id}/{action}", run_action, methods=["POST"], name="record_action"),
    ]
