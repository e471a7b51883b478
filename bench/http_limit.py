"""Scenario 2's limit: a minimal hand-written Starlette app running the same SQL as the API.

``uvicorn bench.http_limit:app --factory --workers 2``, database from
``CRM_BENCH_HTTP_URL``. Two endpoints, ``async def`` with the synchronous
SQLAlchemy Core call inline on the event loop, no authentication, no validation:

- ``GET /deals?amount__gte=X``: the SELECT ``Records.list`` runs for
  ``GET /api/v1/deals?limit=50&amount__gte=X&sort=-amount`` (same expression,
  same order, same limit; :func:`bench.http.check_same_sql` compares the two
  compiled statements) and its ``count(*)``, as JSON;
- ``POST /deals``: one INSERT of the deal in the JSON body, answering its id.

The engine comes from ``kernel.db.make_engine``, so both servers connect with
the same settings (SQLite: WAL, busy timeout, ``BEGIN IMMEDIATE`` for writes).
"""

from __future__ import annotations

import json
import os
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from kernel.db import make_engine, write_transaction

from .plugin import INDEXED_FIELD, Deal

URL_ENV = "CRM_BENCH_HTTP_URL"
PAGE = 50
TABLE: sa.Table = Deal.__table__  # type: ignore[assignment]


def custom_value(dialect: str, name: str) -> sa.ColumnElement[Any]:
    """The expression the kernel filters, sorts and indexes a number custom field by."""
    if dialect == "postgresql":
        return sa.literal_column(f"((custom ->> '{name}')::numeric)", sa.Numeric)
    return sa.literal_column(f"json_extract(custom, '$.{name}')", sa.Numeric)


def statements(dialect: str) -> tuple[sa.Select[Any], sa.Select[Any]]:
    """The page and the count for ``amount >= :threshold``, newest id first among equal amounts."""
    amount = custom_value(dialect, INDEXED_FIELD)
    matching = amount >= sa.bindparam("threshold", type_=sa.Numeric)
    page = sa.select(TABLE).where(matching).order_by(amount.desc(), TABLE.c.id.desc()).limit(PAGE).offset(0)
    count = sa.select(sa.func.count()).select_from(TABLE).where(matching)
    return page, count


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def json_response(content: Any, status_code: int = 200) -> Response:
    body = json.dumps(content, separators=(",", ":"), default=_plain).encode()
    return Response(body, status_code=status_code, media_type="application/json")


def app() -> Starlette:
    engine = make_engine(os.environ[URL_ENV])
    page, count = statements(engine.dialect.name)
    # the driver's own number type: psycopg sends Decimal as numeric, sqlite3 wants a float
    number = Decimal if engine.dialect.name == "postgresql" else float

    async def list_deals(request: Request) -> Response:
        threshold = number(request.query_params["amount__gte"])
        with engine.connect() as conn:
            items = [dict(row._mapping) for row in conn.execute(page, {"threshold": threshold})]
            total = conn.execute(count, {"threshold": threshold}).scalar_one()
        return json_response({"items": items, "total": total, "limit": PAGE, "offset": 0})

    async def create_deal(request: Request) -> Response:
        values = await request.json()
        now = datetime.now(timezone.utc)
        row = {"title": values["title"], "stage": values.get("stage", "new"), "priority": values.get("priority", 0)}
        row.update(custom=values.get("custom", {}), created_at=now, updated_at=now)
        with write_transaction(engine) as conn:
            new_id = conn.execute(sa.insert(TABLE).values(row).returning(TABLE.c.id)).scalar_one()
        return json_response({"id": new_id, **row}, status_code=201)

    async def health(request: Request) -> Response:
        return json_response({"status": "ok"})

    routes = [Route("/healthz", health), Route("/deals", list_deals, methods=["GET"]), Route("/deals", create_deal, methods=["POST"])]
    return Starlette(routes=routes)
