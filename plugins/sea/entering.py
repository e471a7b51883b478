"""Customers entering a sea: an admin's move (one, many, or by filter), and new ownerless customers
sent to the default sea (the ``default_sea`` setting); the sea's strategy (pools' ``place``) then may
give them owners. Owners leave customers through the ``release`` action (a reason from the list
``pools.release_reasons``), overdue ones go back through the pools' return timer."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from kernel import N_, Forbidden, NotFound, OwnerChange, ValidationError, jsonable, read_json_object
from plugins.pools import is_admin

if TYPE_CHECKING:
    import sqlalchemy as sa

    from kernel import Actor, Site

MAX_IDS = 5000


def move_in(site: Site, actor: Actor, sea_id: Any, *, ids: list[int] | None = None, where: dict[str, Any] | None = None,
            reason: str | None = None) -> list[int]:
    """Put customers (``ids``, or every customer ``actor`` sees matching ``where``) into sea ``sea_id``,
    without an owner, in one transaction. Only the sea's admins (and site admins) may."""
    if not isinstance(sea_id, int) or isinstance(sea_id, bool) or sea_id < 1:
        raise ValidationError.at(["sea_id"], N_("must be a sea's id"))
    try:
        sea = site.records.get(actor, "seas", sea_id)
    except NotFound:
        raise ValidationError.at(["sea_id"], N_("no such sea")) from None
    if not is_admin(sea, actor):
        raise Forbidden(N_("only an admin of this sea may move customers into it"))
    if ids is None and where is None:
        raise ValidationError.at(["ids"], N_("give the customers' ids or a filter"))
    change = OwnerChange("release", reason=reason or "moved into the sea", via_entity="seas", via_id=sea_id, rule="move_in")
    return site.records.update_many(actor, "customers", ids=ids, where=where, changes={"sea_id": sea_id, "owner_id": None},
                                    owner_change=change)


async def move_route(request: Request) -> JSONResponse:
    """``POST /api/v1/plugins/sea/move`` ``{"sea_id": 1, "ids": [3, 4]}`` or ``{"sea_id": 1, "filter": {"region": "sh"}}``."""
    site, actor = request.app.state.site, request.state.actor
    body = await read_json_object(request)
    unknown = sorted(set(body) - {"sea_id", "ids", "filter", "reason"})
    if unknown:
        raise ValidationError.at([unknown[0]], N_("unknown field"))
    ids, where, reason = body.get("ids"), body.get("filter"), body.get("reason")
    if ids is not None and (not isinstance(ids, list) or len(ids) > MAX_IDS
                            or not all(isinstance(i, int) and not isinstance(i, bool) and i > 0 for i in ids)):
        raise ValidationError.at(["ids"], f"must be a list of at most {MAX_IDS} customer ids")
    if where is not None and (not isinstance(where, dict) or not where):
        raise ValidationError.at(["filter"], "must be an object of field filters")
    if reason is not None and (not isinstance(reason, str) or len(reason) > 500):
        raise ValidationError.at(["reason"], "must be a text of at most 500 characters")
    moved = move_in(site, actor, body.get("sea_id"), ids=ids, where=where, reason=reason)
    return JSONResponse(jsonable({"moved": len(moved), "ids": moved}))


def routes() -> list[BaseRoute]:
    return [Route("/move", move_route, methods=["POST"])]


def default_sea(site: Site, conn: sa.Connection, values: dict[str, Any]) -> None:
    """A new customer without an owner or a sea goes to the default sea (when set and still there)."""
    sea_id = site.plugin_config("sea").get("default_sea")
    if not sea_id or values.get("owner_id") is not None or values.get("sea_id") is not None:
        return
    import sqlalchemy as sa

    from .models import SEAS

    if conn.scalar(sa.select(SEAS.c.id).where(SEAS.c.id == sea_id)) is not None:
        values["sea_id"] = sea_id
