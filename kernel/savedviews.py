"""Saved list views: a user's search, filters and sort for one entity, kept under a name.

A user's own choice of columns for a list (the column chooser's *Apply*) is kept the same way, as
the view named ``""`` (:data:`COLUMNS_VIEW`: never listed, never shared, never typed as a name) whose
query is ``cols=…``; the list opens with those columns whenever its address names none
(:func:`default_columns`, :func:`save_default_columns`).

A view stores only a normalized query string (``q``, ``sort``, the chosen columns
``cols``, the page size ``size`` and ``f.*`` keys; never the page), so applying one is opening the list with that query. A view is
its owner's, or everyone's when ``shared``; its owner deletes it, and an admin
may delete any shared one. Saving and deleting are audited (entity
``saved_views``) in the same transaction as the change.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode

import sqlalchemy as sa

from . import audit, permissions
from .errors import Conflict, Forbidden, NotFound, ValidationError
from .models import SavedView, User

if TYPE_CHECKING:
    from .records import Actor
    from .site import Site

VIEWS = SavedView.__table__
USERS = User.__table__
MAX_NAME = 80
MAX_QUERY = 2000
AUDIT_ENTITY = "saved_views"
#: the list's own keys a view keeps besides its ``f.*`` filters: search, sort, columns, page size
KEPT = ("q", "sort", "cols", "size")

#: Messages a person sees next to the name input (the UI translates them).
NAME_MISSING = "Give the view a name."
NAME_TOO_LONG = "A view name has at most 80 characters."
NAME_TAKEN = "A view with this name already exists."
QUERY_TOO_LONG = "These filters are too long to save as a view."


def normal_query(params: Iterable[tuple[str, str]]) -> str:
    """The part of a list's query string a view keeps: ``q``, ``sort``, ``cols`` (the chosen columns),
    ``size`` (rows per page), then ``f.*`` keys sorted; no empty values."""
    kept: dict[str, str] = {}
    filters: dict[str, str] = {}
    for key, value in params:
        value = value.strip()
        if not value or "\x00" in value:
            continue
        if key in KEPT:
            kept[key] = value
        elif key.startswith("f.") and len(key) > 2:
            filters[key] = value
    return urlencode([*((k, kept[k]) for k in KEPT if k in kept), *sorted(filters.items())])


def parse_query(text: str) -> str:
    """``text`` (a query string, with or without ``?``) normalized as :func:`normal_query` does."""
    return normal_query(parse_qsl(text.lstrip("?"), keep_blank_values=True))


#: the name of the row holding a user's own columns for a list: no name a person can give (names are never empty)
COLUMNS_VIEW = ""
MAX_COLUMNS = 40


def default_columns(site: Site, actor: Actor, entity: str) -> list[str]:
    """The columns ``actor`` last chose for the list of ``entity`` (``["name", "custom.budget"]``), or ``[]``."""
    if actor.user_id is None:
        return []
    mine = sa.select(VIEWS.c.query).where(VIEWS.c.user_id == actor.user_id, VIEWS.c.entity == entity, VIEWS.c.name == COLUMNS_VIEW)
    with site.engine.connect() as conn:
        query = conn.scalar(mine)
    cols = dict(parse_qsl(query or "")).get("cols", "")
    return [c for c in cols.split(",") if c][:MAX_COLUMNS]


def save_default_columns(site: Site, actor: Actor, entity: str, columns: list[str]) -> list[str]:
    """Keep ``columns`` as ``actor``'s own columns for the list of ``entity`` (``[]``: back to the
    entity's defaults); audited like a view. Returns what was kept."""
    _check_entity(site, actor, entity)
    kept = [c for c in dict.fromkeys(c.strip() for c in columns) if c and "," not in c and "\x00" not in c][:MAX_COLUMNS]
    query = urlencode({"cols": ",".join(kept)}) if kept else ""
    if len(query) > MAX_QUERY:
        raise ValidationError.at(["cols"], QUERY_TOO_LONG)
    now = site.clock.now()
    where = (VIEWS.c.user_id == actor.user_id, VIEWS.c.entity == entity, VIEWS.c.name == COLUMNS_VIEW)
    with site.write() as conn:
        before = conn.execute(sa.select(VIEWS.c.id, VIEWS.c.query).where(*where)).first()
        if before is not None and before.query == query:
            return kept
        if before is None and not kept:
            return kept
        if not kept:
            conn.execute(sa.delete(VIEWS).where(VIEWS.c.id == before.id))
            view_id, action = before.id, "delete"
        elif before is None:
            values = {"user_id": actor.user_id, "entity": entity, "name": COLUMNS_VIEW, "query": query, "shared": False, "created_at": now}
            view_id, action = conn.execute(sa.insert(VIEWS).values(values).returning(VIEWS.c.id)).scalar_one(), "create"
        else:
            conn.execute(sa.update(VIEWS).where(VIEWS.c.id == before.id).values(query=query))
            view_id, action = before.id, "update"
        changes = {"entity": entity, "columns": [before.query if before is not None else None, query or None]}
        audit.write(conn, [audit.entry(actor, now, AUDIT_ENTITY, view_id, action, changes)])
    return kept


def _visible_to(actor: Actor) -> sa.ColumnElement[bool]:
    return sa.or_(VIEWS.c.user_id == actor.user_id, VIEWS.c.shared.is_(True))


def _as_dict(row: Any, actor: Actor) -> dict[str, Any]:
    view = dict(row._mapping)
    view["mine"] = view["user_id"] == actor.user_id
    view["deletable"] = can_delete(actor, view)
    return view


def can_delete(actor: Actor, view: dict[str, Any]) -> bool:
    return view["user_id"] == actor.user_id or (bool(view["shared"]) and permissions.is_admin(actor))


def list_views(site: Site, actor: Actor, entity: str) -> list[dict[str, Any]]:
    """The actor's own views of ``entity`` and everyone's shared ones, by name; each with its owner's name."""
    if actor.user_id is None:
        return []
    owner = sa.func.coalesce(sa.func.nullif(USERS.c.name, ""), USERS.c.email).label("owner")
    query = (
        sa.select(VIEWS, owner)
        .join(USERS, USERS.c.id == VIEWS.c.user_id)
        .where(VIEWS.c.entity == entity, _visible_to(actor), VIEWS.c.name != COLUMNS_VIEW)
        .order_by(VIEWS.c.name, VIEWS.c.id)
    )
    with site.engine.connect() as conn:
        return [_as_dict(row, actor) for row in conn.execute(query)]


def save_view(site: Site, actor: Actor, entity: str, name: Any, query: str, *, shared: bool = False) -> dict[str, Any]:
    """Keep ``query`` (normalized) under ``name`` for the actor; refuses an empty, long or taken name."""
    _check_entity(site, actor, entity)
    text = name.strip() if isinstance(name, str) else ""
    if not text:
        raise ValidationError.at(["name"], NAME_MISSING)
    if len(text) > MAX_NAME:
        raise ValidationError.at(["name"], NAME_TOO_LONG)
    normal = parse_query(query)
    if len(normal) > MAX_QUERY:
        raise ValidationError.at(["query"], QUERY_TOO_LONG)
    now = site.clock.now()
    values = {"user_id": actor.user_id, "entity": entity, "name": text, "query": normal, "shared": bool(shared), "created_at": now}
    taken = sa.select(VIEWS.c.id).where(VIEWS.c.user_id == actor.user_id, VIEWS.c.entity == entity, VIEWS.c.name == text)
    try:
        with site.write() as conn:
            if conn.scalar(taken) is not None:
                raise Conflict(f"name: {NAME_TAKEN}", [{"loc": ["name"], "msg": NAME_TAKEN}])
            view_id = conn.execute(sa.insert(VIEWS).values(values).returning(VIEWS.c.id)).scalar_one()
            changes = {"entity": [None, entity], "name": [None, text], "query": [None, normal], "shared": [None, bool(shared)]}
            audit.write(conn, [audit.entry(actor, now, AUDIT_ENTITY, view_id, "create", changes)])
    except sa.exc.IntegrityError:  # saved at the same moment by another request
        raise Conflict(f"name: {NAME_TAKEN}", [{"loc": ["name"], "msg": NAME_TAKEN}]) from None
    return {**values, "id": view_id}


def get_view(site: Site, actor: Actor, view_id: int) -> dict[str, Any]:
    """One view the actor may see (their own or a shared one); :class:`NotFound` otherwise."""
    if actor.user_id is None:
        raise NotFound(f"no saved view {view_id}")
    with site.engine.connect() as conn:
        row = conn.execute(sa.select(VIEWS).where(VIEWS.c.id == view_id, _visible_to(actor))).first()
    if row is None:
        raise NotFound(f"no saved view {view_id}")
    return _as_dict(row, actor)


def delete_view(site: Site, actor: Actor, view_id: int) -> dict[str, Any]:
    """Delete one of the actor's views (an admin: any shared view); returns it as it was."""
    view = get_view(site, actor, view_id)
    if not view["deletable"]:
        raise Forbidden("only its owner or an administrator may delete a shared view")
    with site.write() as conn:
        conn.execute(sa.delete(VIEWS).where(VIEWS.c.id == view_id))
        changes = {"entity": [view["entity"], None], "name": [view["name"], None], "query": [view["query"], None], "shared": [view["shared"], None]}
        audit.write(conn, [audit.entry(actor, site.clock.now(), AUDIT_ENTITY, view_id, "delete", changes)])
    return view


def _check_entity(site: Site, actor: Actor, entity: str) -> None:
    if actor.user_id is None:
        raise Forbidden("only a signed-in user can save a view")
    if site.view.entity(entity) is None:
        raise NotFound(f"no entity named {entity!r}")
    if not permissions.allowed(site, actor, entity, "read"):
        raise Forbidden(f"you may not read {entity}")
