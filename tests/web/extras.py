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
def find_duplicates(conn: sa.Connection, entity: str, rows: list[dict[str, Any]]) -> list[list[tuple[str, int]]] | None:
    if entity != "notes":
        return None
    table = Note.__table__
    titles = {row.get("title") for row in rows} - {None}
    stored = conn.execute(sa.select(table.c.id, table.c.title).where(table.c.title.in_(titles))).all() if titles else []
    return [[("notes", id_) for id_, title in stored if title == row.get("title") and id_ != row.get("id")] for row in rows]
