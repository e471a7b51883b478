"""Scenario 2's limit: a minimal hand-written Starlette app running the same SQL as the API.

``uvicorn bench.http_limit:app --factory --workers 2``, database from
``CRM_BENCH_HTTP_URL``. Two endpoints, no validation, whose
synchronous SQLAlchemy Core calls run in Starlette's thread pool (a plain
``def`` endpoint; the create reads its body on the loop first), so that, like
the kernel's requests (:mod:`kernel.web.offload`), they never stall the loop and
several run at once:

- ``GET /deals?amount__gte=X``: the SELECT ``Records.list`` runs for
  ``GET /api/v1/deals?limit=50&amount__gte=X&sort=-amount`` (same expression,
  same order, same limit; :func:`bench.http.check_same_sql` compares the two
  compiled statements) and its ``count(*)``, as JSON;
- ``GET /deals?amount__gte=X&rep=ID``: the same for a sales rep whose role reads
  its team's deals: the page and count with the record rule the kernel adds in
  SQL (owned by the rep, or by anyone in the rep's team, the teams it manages
  and every team below them);
- ``POST /deals``: in one transaction, the INSERT of the deal in the JSON body,
  of its audit entry and of its outbox commit row (every change is audited and leaves an
  event for webhooks: the kernel's work includes both; on PostgreSQL the event is
  written under the same transaction lock the kernel takes so that event ids follow
  commit order), answering its id.

Each request looks up its bearer token and the token's user in one indexed query, as the
kernel does on every request (rights are read per request, never kept in a process), and
answers 401 without it; the rep's list uses that user's id. Responses are written with
orjson, as the kernel's are.

The engine comes from ``kernel.db.make_engine``, so both servers connect with
the same settings (SQLite: WAL, busy timeout, ``BEGIN IMMEDIATE`` for writes).
"""

from __future__ import annotations

import hashlib
import os
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

import orjson
import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from kernel.db import make_engine, write_transaction
from kernel.models import ApiToken, AuditEntry, OutboxCommit, Team, User

from .plugin import INDEXED_FIELD, Deal

URL_ENV = "CRM_BENCH_HTTP_URL"
PAGE = 50
TABLE: sa.Table = Deal.__table__  # type: ignore[assignment]
AUDIT: sa.Table = AuditEntry.__table__  # type: ignore[assignment]
COMMITS: sa.Table = OutboxCommit.__table__  # type: ignore[assignment]


def custom_value(dialect: str, name: str) -> sa.ColumnElement[Any]:
    """The expression the kernel filters, sorts and indexes a number custom field by."""
    if dialect == "postgresql":
        return sa.literal_column(f"((custom ->> '{name}')::numeric)", sa.Numeric)
    return sa.literal_column(f"json_extract(custom, '$.{name}')", sa.Numeric)


USERS: sa.Table = User.__table__  # type: ignore[assignment]
TOKENS: sa.Table = ApiToken.__table__  # type: ignore[assignment]
#: The bearer lookup, written out: a live, unrevoked token of an active user whose credentials have not changed since.
AUTH = (
    sa.select(USERS, TOKENS.c.id.label("token_id"), TOKENS.c.last_used_at, TOKENS.c.expires_at)
    .join(TOKENS, TOKENS.c.user_id == USERS.c.id)
    .where(
        TOKENS.c.token_hash == sa.bindparam("digest"),
        TOKENS.c.revoked_at.is_(None),
        TOKENS.c.credentials_version == USERS.c.credentials_version,
        USERS.c.active.is_(True),
    )
)
#: The kernel's default ``count_cap``.
COUNT_CAP = 10_000


def statements(dialect: str, *, rep: bool = False) -> tuple[sa.Select[Any], sa.Select[Any]]:
    """The page and the count for ``amount >= :threshold``, newest id first among equal amounts.

    With ``rep``, only the deals the sales rep ``:user_id`` may see under a ``read:team`` scope.
    """
    amount = custom_value(dialect, INDEXED_FIELD)
    conditions = [amount >= sa.bindparam("threshold", type_=sa.Numeric)]
    if rep:
        conditions.append(team_rule())
    page = sa.select(TABLE).where(*conditions).order_by(amount.desc(), TABLE.c.id.desc()).limit(PAGE).offset(0)
    # counted as the kernel counts a list: exactly up to the cap (``count_cap``, 10,000), then "10,000+"
    capped = sa.select(sa.literal(1)).select_from(TABLE).where(*conditions).limit(COUNT_CAP + 1).subquery()
    count = sa.select(sa.func.count()).select_from(capped)
    return page, count


def team_rule() -> sa.ColumnElement[bool]:
    """Owned by ``:user_id``, or by a user of the teams ``:user_id`` belongs to or manages, and the teams below."""
    me = sa.bindparam("user_id", type_=sa.BigInteger)
    teams, users, owner = Team.__table__, User.__table__, TABLE.c.owner_id
    roots = sa.select(teams.c.id).where(sa.or_(teams.c.id.in_(sa.select(users.c.team_id).where(users.c.id == me)), teams.c.manager_id == me))
    tree = roots.cte("team_tree_deals", recursive=True)  # the kernel names the CTE after the entity
    below = teams.alias("below")
    tree = tree.union(sa.select(below.c.id).where(below.c.parent_id == tree.c.id))
    members = sa.select(users.c.id).where(users.c.team_id.in_(sa.select(tree.c.id)))
    return sa.or_(owner == me, owner.in_(members))


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def json_response(content: Any, status_code: int = 200) -> Response:
    return Response(orjson.dumps(content, default=_plain), status_code=status_code, media_type="application/json")


def app() -> Starlette:
    engine = make_engine(os.environ[URL_ENV])
    page, count = statements(engine.dialect.name)
    rep_page, rep_count = statements(engine.dialect.name, rep=True)
    # the driver's own number type: psycopg sends Decimal as numeric, sqlite3 wants a float
    number = Decimal if engine.dialect.name == "postgresql" else float

    def caller(request: Request) -> Any:
        """The token's user (``None``: answer 401): the lookup the kernel makes on every request."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        with engine.connect() as conn:
            return conn.execute(AUTH, {"digest": hashlib.sha256(token.strip().encode()).hexdigest()}).first()

    def list_deals(request: Request) -> Response:
        user = caller(request)
        if user is None:
            return json_response({"error": "unauthorized"}, status_code=401)
        params: dict[str, Any] = {"threshold": number(request.query_params["amount__gte"])}
        statement, counting = page, count
        if "rep" in request.query_params:
            params["user_id"] = user.id
            statement, counting = rep_page, rep_count
        with engine.connect() as conn:
            items = [dict(row._mapping) for row in conn.execute(statement, params)]
            total = conn.execute(counting, params).scalar_one()
        exact = total <= COUNT_CAP
        body = {"items": items, "total": min(total, COUNT_CAP), "total_exact": exact, "limit": PAGE, "offset": 0}
        return json_response(body)

    def insert(row: dict[str, Any], ip: str | None) -> int:
        changes = {key: [None, value] for key, value in row.items() if key not in ("created_at", "updated_at")}
        with write_transaction(engine) as conn:
            new_id: int = conn.execute(sa.insert(TABLE).values(row).returning(TABLE.c.id)).scalar_one()
            entry = {"at": row["created_at"], "actor": "bench", "channel": "api", "entity": "deals", "record_id": new_id}
            audit_id = conn.execute(sa.insert(AUDIT).values(**entry, action="create", changes=changes, ip=ip).returning(AUDIT.c.id)).scalar_one()
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.kernel_outbox_commits'))"))
            conn.execute(sa.insert(COMMITS).values(entries=[[audit_id, audit_id]], at=row["created_at"]))
        return new_id

    async def create_deal(request: Request) -> Response:
        if await run_in_threadpool(caller, request) is None:
            return json_response({"error": "unauthorized"}, status_code=401)
        values = await request.json()
        now = datetime.now(timezone.utc)
        row = {"title": values["title"], "stage": values.get("stage", "new"), "priority": values.get("priority", 0)}
        row.update(custom=values.get("custom", {}), created_at=now, updated_at=now)
        new_id = await run_in_threadpool(insert, row, request.client.host if request.client else None)
        return json_response({"id": new_id, **row}, status_code=201)

    async def health(request: Request) -> Response:
        return json_response({"status": "ok"})

    routes = [Route("/healthz", health), Route("/deals", list_deals, methods=["GET"]), Route("/deals", create_deal, methods=["POST"])]
    return Starlette(routes=routes)
