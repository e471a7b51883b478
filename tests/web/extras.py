"""A test plugin: flags notes with the same title as duplicates and serves two routes."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from kernel import Forbidden, hookimpl
from tests.example.plugin import Note

NAME = "extras"
REQUIRES = ("notes",)


async def whoami(request: Request) -> JSONResponse:
    """Who is calling"""
    return JSONResponse({"plugin": NAME, "actor": request.state.actor.label})


async def refuse(request: Request) -> JSONResponse:
    raise Forbidden("no entry")


@hookimpl
def register_routes() -> list[BaseRoute]:
    return [Route("/whoami", whoami), Route("/refuse", refuse, methods=["POST"])]


@hookimpl
def find_duplicates(conn: sa.Connection, entity: str, values: dict[str, Any]) -> list[int] | None:
    if entity != "notes":
        return None
    table = Note.__table__
    return list(conn.scalars(sa.select(table.c.id).where(table.c.title == values["title"])))
