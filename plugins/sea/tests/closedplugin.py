"""A stand-in for ``pipeline``/``orders`` in the tests: customers tagged ``won`` are closed."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from kernel import hookimpl

NAME = "seaclosedtest"
REQUIRES = ("sea",)


@hookimpl
def sea_customer_closed_ids(site: Any, conn: sa.Connection, ids: list[int]) -> list[int]:
    table = site.view.entities["customers"].table
    rows = conn.execute(sa.select(table.c.id, table.c.tags).where(table.c.id.in_(ids))).all()
    return [row.id for row in rows if "won" in (row.tags or [])]
