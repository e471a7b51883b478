"""JSON endpoints under ``/api/v1/plugins/customers`` (the kernel authenticates first)."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from kernel import ValidationError, jsonable, parse_id, parse_int

from .purchases import purchase_summary
from .tasks import my_day, overdue_tasks
from .timeline import customer_timeline


def _number(request: Request, name: str, default: int, low: int, high: int | None = None) -> int:
    text = request.query_params.get(name)
    if text is None:
        return default
    return parse_int(text, ["query", name], low=low, high=high)


def _id(request: Request) -> int:
    return parse_id(request.path_params["id"], ["path", "id"])


def _json(data: Any) -> JSONResponse:
    return JSONResponse(jsonable(data))


async def timeline(request: Request) -> JSONResponse:
    site, actor = request.app.state.site, request.state.actor
    limit, offset = _number(request, "limit", 50, 1, 200), _number(request, "offset", 0, 0)
    return _json(customer_timeline(site, actor, _id(request), limit=limit, offset=offset))


async def purchases(request: Request) -> JSONResponse:
    return _json(purchase_summary(request.app.state.site, request.state.actor, _id(request)))


async def customer_duplicates(request: Request) -> JSONResponse:
    return await _duplicates(request, "customers", ("name", "kind", "phone", "email"))


async def contact_duplicates(request: Request) -> JSONResponse:
    return await _duplicates(request, "contacts", ("phone", "email"))


async def _duplicates(request: Request, entity: str, keys: tuple[str, ...]) -> JSONResponse:
    """``{"code": "duplicate", "ids": [...], "hidden": N}``: look-alikes of the values typed so far;
    ``ids`` only those the caller may read, the others counted (a check while typing, before saving)."""
    site, actor = request.app.state.site, request.state.actor
    values = {key: request.query_params[key] for key in keys if request.query_params.get(key)}
    if not values.keys() - {"kind"}:
        raise ValidationError.at(["query"], f"give at least one of {', '.join(k for k in keys if k != 'kind')}")
    site.records.list(actor, entity, limit=1)  # the caller must be allowed to read the entity
    found = site.records.find_duplicates(actor, entity, [values])[0]
    return _json(found.warning(entity))


async def today(request: Request) -> JSONResponse:
    site, actor = request.app.state.site, request.state.actor
    name = request.query_params.get("tz")
    try:
        zone = ZoneInfo(name) if name else None
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError.at(["query", "tz"], f"unknown time zone {name!r}") from None
    return _json(my_day(site, actor, site.clock.now(), tz=zone))


async def overdue(request: Request) -> JSONResponse:
    site, actor = request.app.state.site, request.state.actor
    limit, offset = _number(request, "limit", 50, 1, 500), _number(request, "offset", 0, 0)
    page = overdue_tasks(site, actor, site.clock.now(), limit=limit, offset=offset)
    return _json({"items": page.items, "total": page.total, "limit": page.limit, "offset": page.offset})


def routes() -> list[BaseRoute]:
    return [
        Route("/customers/duplicates", customer_duplicates, methods=["GET"]),
        Route("/customers/{id}/timeline", timeline, methods=["GET"]),
        Route("/customers/{id}/purchases", purchases, methods=["GET"]),
        Route("/contacts/duplicates", contact_duplicates, methods=["GET"]),
        Route("/tasks/my-day", today, methods=["GET"]),
        Route("/tasks/overdue", overdue, methods=["GET"]),
    ]
