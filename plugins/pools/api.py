"""JSON endpoints under ``/api/v1/plugins/pools`` (the kernel authenticates first): bulk assign, deadlines of
held records, and the reconcile run (admins)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from kernel import Forbidden, NotFound, ValidationError, jsonable, read_json_object

from . import operations
from .returns import deadlines_of, reconcile


def _json(data: Any) -> JSONResponse:
    return JSONResponse(jsonable(data))


async def bulk_assign(request: Request) -> JSONResponse:
    """``POST {"entity": "leads", "ids": [1, 2], "owner_id": 5, "reason": "..."}``: a pool admin assigns many, all or none."""
    site, actor = request.app.state.site, request.state.actor
    body = await read_json_object(request)
    unknown = sorted(set(body) - {"entity", "ids", "owner_id", "reason"})
    if unknown:
        raise ValidationError.at([unknown[0]], "unknown field")
    entity, ids = body.get("entity"), body.get("ids")
    if not isinstance(entity, str):
        raise ValidationError.at(["entity"], "must be a pooled entity's name")
    if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) and i > 0 for i in ids):
        raise ValidationError.at(["ids"], "must be a list of record ids")
    reason = body.get("reason")
    if reason is not None and (not isinstance(reason, str) or len(reason) > 500):
        raise ValidationError.at(["reason"], "must be a text of at most 500 characters")
    records = operations.assign(site, actor, entity, ids, body.get("owner_id"), reason=reason)
    return _json({"items": records})


async def deadlines(request: Request) -> JSONResponse:
    """``GET ?entity=leads&ids=1,2``: when each held record goes back and is reminded (records the caller sees)."""
    site, actor = request.app.state.site, request.state.actor
    entity = request.query_params.get("entity", "")
    operations.require_kind(site, entity)
    try:
        ids = [int(part) for part in request.query_params.get("ids", "").split(",") if part.strip()]
    except ValueError:
        raise ValidationError.at(["query", "ids"], "must be record ids separated by commas") from None
    if len(ids) > 500:
        raise ValidationError.at(["query", "ids"], "at most 500 ids")
    visible = [i for i in dict.fromkeys(ids) if _sees(site, actor, entity, i)]
    with site.engine.connect() as conn:
        return _json({"items": {str(k): v for k, v in deadlines_of(site, conn, entity, visible).items()}})


def _sees(site: Any, actor: Any, entity: str, record_id: int) -> bool:
    try:
        site.records.get(actor, entity, record_id)
    except NotFound:
        return False
    return True


async def run_reconcile(request: Request) -> JSONResponse:
    site, actor = request.app.state.site, request.state.actor
    if actor.role != "admin":
        raise Forbidden("only an admin may reconcile the pools' holdings")
    return _json(reconcile(site))


def routes() -> list[BaseRoute]:
    return [
        Route("/assign", bulk_assign, methods=["POST"]),
        Route("/deadlines", deadlines, methods=["GET"]),
        Route("/reconcile", run_reconcile, methods=["POST"]),
    ]
