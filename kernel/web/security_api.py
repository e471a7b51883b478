"""Admin views on security: why a user can see a record, and the audit log.

Mounted under ``/api/v1`` before the generic entity routes:

* ``GET /api/v1/E/{id}/access?user_id=N`` — which role, permission and record
  rule let user N read, update, delete or act on the record, or stop them, and which
  field masks apply to it (``"masks": [{"plugin", "fields", "masked", "reason", "through", "detail"}]``);
* ``GET /api/v1/audit?actor_id=&actor=&entity=&record_id=&action=&channel=&since=&until=&limit=&offset=``
  — the audit log, newest first (logins and failed logins carry the IP); ``actor`` matches
  part of the actor's email, in any case. The query is :func:`kernel.audit.search`, shared
  with the admin page ``/admin/audit``.
"""

from __future__ import annotations

from datetime import datetime, time, timezone
from typing import Any

import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from .. import audit, masking
from ..errors import Forbidden, NotFound, ValidationError
from ..models import User
from ..parsing import optional_id, parse_date, parse_datetime, parse_int
from ..permissions import explain, is_admin
from ..records import DEFAULT_LIMIT, MAX_LIMIT, Actor
from ..site import Site
from .auth import USER_FIELDS, actor_for_user, authenticate

AUDIT_FIELDS = ("id", "at", "actor_id", "actor", "channel", "entity", "record_id", "action", "changes", "ip", "raised_for")


def _admin(request: Request) -> tuple[Site, Actor]:
    site: Site = request.app.state.site
    actor = authenticate(site, request)
    if not is_admin(actor):
        raise Forbidden("only an admin may see this")
    return site, actor


def _integer(params: Any, name: str, default: int | None = None, *, low: int = 0, high: int | None = None) -> int | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    return parse_int(raw, ["query", name], low=low, high=high)


def _time(params: Any, name: str) -> datetime | None:
    """A date (midnight UTC) or a date-time (UTC when it names no zone)."""
    raw = params.get(name)
    if not raw:
        return None
    if len(raw.strip()) <= len("YYYY-MM-DD"):
        return datetime.combine(parse_date(raw, ["query", name]), time.min, timezone.utc)
    return parse_datetime(raw, ["query", name], assume=timezone.utc)


async def record_access(request: Request) -> JSONResponse:
    site, _ = _admin(request)
    entity = site.view.entity(request.path_params["entity"])
    if entity is None:
        raise NotFound(f"no entity named {request.path_params['entity']!r}", [{"loc": ["path", "entity"], "msg": "unknown or disabled entity"}])
    record_id = request.path_params["id"]
    if optional_id(record_id) is None:
        raise NotFound(f"no {entity.name} record with id {record_id}")
    user_id = _integer(request.query_params, "user_id", low=1)
    if user_id is None:
        raise ValidationError.at(["query", "user_id"], "is required")
    users = User.__table__
    table = entity.table
    with site.engine.connect() as conn:
        user = conn.execute(sa.select(users).where(users.c.id == user_id)).first()
        exists = conn.scalar(sa.select(table.c.id).where(table.c.id == record_id)) is not None
    if user is None:
        raise ValidationError.at(["query", "user_id"], f"no user with id {user_id}")
    if not exists:
        raise NotFound(f"no {entity.name} record with id {record_id}")
    who = actor_for_user(user, channel="api", ip=None)
    answer = explain(site, who, entity, record_id)
    user_info = {k: user._mapping[k] for k in USER_FIELDS}
    masks = masking.explain(site, who, entity, record_id)
    return JSONResponse({"user": user_info, "entity": entity.name, "record_id": record_id, **answer, "masks": masks})


async def search_audit(request: Request) -> JSONResponse:
    site, _ = _admin(request)
    params = request.query_params
    wanted = audit.Search(
        actor_id=_integer(params, "actor_id", low=1),
        actor=params.get("actor") or None,
        entity=params.get("entity") or None,
        record_id=_integer(params, "record_id", low=1),
        action=params.get("action") or None,
        channel=params.get("channel") or None,
        since=_time(params, "since"),
        until=_time(params, "until"),
    )
    limit = _integer(params, "limit", DEFAULT_LIMIT, low=1, high=MAX_LIMIT)
    offset = _integer(params, "offset", 0)
    with site.engine.connect() as conn:
        rows, total = audit.search(conn, wanted, limit=limit, offset=offset or 0)
    items = [{k: row[k] for k in AUDIT_FIELDS} for row in rows]
    return JSONResponse({"items": audit.jsonable(items), "total": total, "limit": limit, "offset": offset})


def security_routes() -> list[BaseRoute]:
    """Routes mounted under ``/api/v1``, before the generic ``/{entity}`` routes."""
    return [
        Route("/audit", search_audit, methods=["GET"], name="audit"),
        Route("/{entity}/{id:int}/access", record_access, methods=["GET"], name="record_access"),
    ]
