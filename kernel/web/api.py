"""Generic REST for every enabled entity, resolved from the site's view on each request.

``GET/POST /api/v1/E``, ``GET/PATCH/DELETE /api/v1/E/{id}``,
``GET /api/v1/E/aggregate``, ``GET /api/v1/E/{id}/history``, ``GET /api/v1/E/{id}/activity`` and ``POST /api/v1/E/{id}/ACTION``.

Endpoints are ``async def`` and call the synchronous records service inline:
the whole request runs on a worker thread with its own event loop
(:mod:`kernel.web.offload`), so blocking there stalls no other request. Every
write still goes through :class:`~kernel.records.Records`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from .. import activity, aggregates, audit, files, versions
from ..errors import NotFound, ValidationError
from ..versions import EditConflict
from ..parsing import optional_id, parse_id
from ..records import DEFAULT_LIMIT, MAX_LIMIT, ON_DUPLICATE, Actor
from .auth import authenticate
from .attachments import file_response, read_upload
from .payload import JSON, parse_count, query_values, read_json

if TYPE_CHECKING:
    from ..site import Site, View

#: Query parameters that are not filters.
#: ``total_exact=true`` counts every match; by default a list counts up to the ``count_cap`` setting.
CONTROL_PARAMS = ("limit", "offset", "sort", "q", "on_duplicate", "total_exact")
HISTORY_FIELDS = ("id", "at", "action", "actor", "actor_id", "channel", "changes", "raised_for")


def site_of(request: Request) -> Site:
    return request.app.state.site  # type: ignore[no-any-return]


def actor_of(request: Request) -> Actor:
    """The authenticated caller (401 otherwise)."""
    return authenticate(site_of(request), request)


def record_id(request: Request) -> int:
    """The path's record id; anything that is not one names no record (404)."""
    text = request.path_params["id"]
    found = optional_id(text)
    if found is None:
        raise NotFound(f"no record {text!r}", [{"loc": ["path", "id"], "msg": "must be a whole number from 1 to 2^63-1"}])
    return found


def public(view: View, entity: str, record: dict[str, Any]) -> dict[str, Any]:
    """A record as the API shows it: values of removed custom fields left out."""
    return public_all(view, entity, [record])[0]


def public_all(view: View, entity: str, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """:func:`public` for a page of records: the field set is looked up once, and a record is
    copied only when it holds a removed field's value (most hold none)."""
    fields = view.fields(entity)
    shown = []
    for record in records:
        custom = record.get("custom")
        if custom and any(key not in fields for key in custom):
            record = {**record, "custom": {k: v for k, v in custom.items() if k in fields}}
        shown.append(record)
    return shown


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
    items = public_all(view, entity, page.items)
    return JSON({"items": items, "total": page.total, "total_exact": page.total_exact, "limit": page.limit, "offset": page.offset})


#: Query parameters of ``GET /api/v1/E/aggregate`` that are not filters.
AGGREGATE_PARAMS = ("group_by", "measure", "limit", "time_zone")


def _names(params: dict[str, str], name: str) -> list[str]:
    text = params.pop(name, None)
    if text is None:
        return []
    names = [part.strip() for part in text.split(",")]
    if not all(names):
        raise ValidationError.at(["query", name], "a comma-separated list of names, none empty")
    return names


async def aggregate_records(request: Request) -> Response:
    """``GET /api/v1/E/aggregate?group_by=F[:month],…&measure=count,sum:F,…&limit=&time_zone=&…filters``."""
    site, entity = site_of(request), request.path_params["entity"]
    actor = actor_of(request)
    params = query_values(request)
    group_by, measures = _names(params, "group_by"), _names(params, "measure")
    limit = parse_count(params, "limit", aggregates.DEFAULT_LIMIT, low=1, high=aggregates.MAX_LIMIT)
    time_zone = params.pop("time_zone", None)
    found = site.records.aggregate(
        actor, entity, group_by=group_by, measures=measures or ["count"], filters=params, time_zone=time_zone, limit=limit
    )
    return JSON({"groups": found.groups, "truncated": found.truncated})


async def create_record(request: Request) -> Response:
    site, entity = site_of(request), request.path_params["entity"]
    actor = actor_of(request)
    params = query_values(request)
    on_duplicate = params.get("on_duplicate", "warn")
    if on_duplicate not in ON_DUPLICATE:
        raise ValidationError.at(["query", "on_duplicate"], "must be 'warn' or 'refuse'")
    body = await read_json(request)
    record = site.records.create(actor, entity, body, on_duplicate=on_duplicate)
    return JSON(public(site.view, entity, record), status_code=201)


async def get_record(request: Request) -> Response:
    site, entity = site_of(request), request.path_params["entity"]
    actor = actor_of(request)
    record = site.records.get(actor, entity, record_id(request))
    return _versioned(site, entity, record)


async def update_record(request: Request) -> Response:
    site, entity = site_of(request), request.path_params["entity"]
    actor = actor_of(request)
    id_ = record_id(request)
    body = await read_json(request)
    try:
        record = site.records.update(actor, entity, id_, body, if_match=request.headers.get("if-match"))
    except EditConflict as exc:
        return _conflict(site, entity, exc)
    return _versioned(site, entity, record)


def _versioned(site: Site, entity: str, record: dict[str, Any], status_code: int = 200) -> Response:
    """A record with its version in ``ETag`` (:mod:`kernel.versions`)."""
    found = site.view.entity(entity)
    headers = {"ETag": versions.etag(found, record)} if found is not None else None
    return JSON(public(site.view, entity, record), status_code=status_code, headers=headers)


def _conflict(site: Site, entity: str, exc: EditConflict) -> Response:
    """409 for a stale ``If-Match``: the error, and the record as it is now with its ``ETag``."""
    body = {"error": exc.as_dict(), "record": public(site.view, entity, exc.record)}
    return JSON(body, status_code=exc.status, headers={"ETag": exc.version})


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
    offset = parse_count(params, "offset", 0, low=0, high=activity.MAX_OFFSET)
    return JSON(activity.record_activity(site, actor, entity, id_, limit=limit, offset=offset))


async def run_action(request: Request) -> Response:
    site, entity = site_of(request), request.path_params["entity"]
    actor = actor_of(request)
    id_ = record_id(request)
    body = await read_json(request)
    try:
        result = site.records.act(actor, entity, id_, request.path_params["action"], body, if_match=request.headers.get("if-match"))
    except EditConflict as exc:
        return _conflict(site, entity, exc)
    return JSON(result if result is not None else {})


async def record_files(request: Request) -> Response:
    """``GET``: the record's files, newest first; ``POST`` (multipart, field ``file``): attach one."""
    site, entity = site_of(request), request.path_params["entity"]
    actor = actor_of(request)
    id_ = record_id(request)
    if request.method == "GET":
        return JSON({"items": [_file_json(request, f) for f in files.files_of(site, actor, entity, id_)]})
    try:
        upload = await read_upload(request, "file")
        stored = files.attach(site, actor, entity, id_, upload.filename or "", await upload.read())
    finally:
        await request.close()  # the upload's temporary copy
    return JSON(_file_json(request, stored), status_code=201)


async def record_file(request: Request) -> Response:
    """``GET``: the file's bytes (a download, or inline for a raster image); ``DELETE``: remove it."""
    site, entity = site_of(request), request.path_params["entity"]
    actor = actor_of(request)
    id_ = record_id(request)
    file_id = parse_id(request.path_params["file_id"], ["path", "file_id"])
    if request.method == "DELETE":
        files.remove(site, actor, entity, id_, file_id)
        return Response(status_code=204)
    info, data = files.read(site, actor, entity, id_, file_id)
    return file_response(info, data)


def _file_json(request: Request, info: files.FileInfo) -> dict[str, Any]:
    return {**info.as_dict(), "url": f"/api/v1/{info.entity}/{info.record_id}/files/{info.id}"}


async def collection(request: Request) -> Response:
    return await (create_record if request.method == "POST" else list_records)(request)


async def member(request: Request) -> Response:
    handler = {"PATCH": update_record, "DELETE": delete_record}.get(request.method, get_record)  # GET, HEAD
    return await handler(request)


def record_routes() -> list[BaseRoute]:
    """The entity routes; mount them last under ``/api/v1``: ``{entity}`` matches any name."""
    return [
        Route("/{entity}", collection, methods=["GET", "POST"], name="records"),
        Route("/{entity}/aggregate", aggregate_records, methods=["GET"], name="aggregate"),
        Route("/{entity}/{id}", member, methods=["GET", "PATCH", "DELETE"], name="record"),
        Route("/{entity}/{id}/history", record_history, methods=["GET"], name="record_history"),
        Route("/{entity}/{id}/activity", record_activity, methods=["GET"], name="record_activity"),
        Route("/{entity}/{id}/files", record_files, methods=["GET", "POST"], name="record_files"),
        Route("/{entity}/{id}/files/{file_id}", record_file, methods=["GET", "DELETE"], name="record_file"),
        Route("/{entity}/{id}/{action}", run_action, methods=["POST"], name="record_action"),
    ]
