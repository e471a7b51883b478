"""Visibility through a parent: whoever may read a record's parent may read the record.

An :class:`~kernel.entities.Entity` names its parent with ``parent=``: a column and
the entity it points to (``("folder_id", "folders")``), or the generic pair of
a column naming the parent's entity and a column holding its id
(``("entity", "record_id")``), or a tuple of such pairs. The kernel's record rule
(:func:`kernel.permissions.record_condition`) then reads:

* an owned child: its role scope OR a plugin's ``record_rules`` OR its parent is
  visible — for reading only: update, delete, assign and actions keep the child's
  own scope (:func:`writing` marks those loads);
* a child without an owner field: its parent is visible (or it names none); this
  holds for writes too, since the child has no rule of its own.

The parent's visibility is its own full record rule (scope, ``record_rules``,
``record_filter``, and its own parent), in SQL: the generic pair is expanded
into one ``IN`` per enabled entity the actor may read.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING

import sqlalchemy as sa

if TYPE_CHECKING:
    from .entities import Entity, ParentRef
    from .records import Actor
    from .site import Site

_writing: ContextVar[bool] = ContextVar("parents_writing", default=False)
_resolving: ContextVar[frozenset[str]] = ContextVar("parents_resolving", default=frozenset())
#: while one record rule is built: each parent entity's visibility, built once however often it is named
_seen: ContextVar[dict[str, sa.ColumnElement[bool]] | None] = ContextVar("parents_seen", default=None)


@contextmanager
def writing() -> Iterator[None]:
    """Record rules built inside this block are for a write: no widening through a parent."""
    token = _writing.set(True)
    try:
        yield
    finally:
        _writing.reset(token)


def is_writing() -> bool:
    return _writing.get()


def resolving(entity: str) -> bool:
    """Whether ``entity``'s rule is already being built higher up (a cycle of parents)."""
    return entity in _resolving.get()


def condition(site: Site, actor: Actor, entity: Entity) -> sa.ColumnElement[bool]:
    """The SQL condition "one of the record's parents is visible to ``actor``" (``false`` when none is)."""
    token = _resolving.set(_resolving.get() | {entity.name})
    reading = _writing.set(False)  # the parent is read, even when the child is written
    memo = _seen.set({}) if _seen.get() is None else None
    try:
        found = [c for ref in entity.parents for c in _through(site, actor, entity, ref)]
    finally:
        if memo is not None:
            _seen.reset(memo)
        _writing.reset(reading)
        _resolving.reset(token)
    return sa.or_(*found) if found else sa.false()


def unset(entity: Entity) -> sa.ColumnElement[bool]:
    """The record names no parent at all."""
    return sa.and_(*(entity.table.c[ref.column].is_(None) for ref in entity.parents))


def _through(site: Site, actor: Actor, entity: Entity, ref: ParentRef) -> list[sa.ColumnElement[bool]]:
    column = entity.table.c[ref.column]
    if ref.entity is not None:
        names = [ref.entity]
    else:
        names = sorted(name for name in site.view.entities if name != entity.name)
    found, whole = [], []  # whole: entities whose every record the actor sees
    for name in names:
        parent = site.view.entity(name)
        if parent is None or resolving(name) or not _may_read(site, actor, name):
            continue
        seen = _visible(site, actor, name)
        if isinstance(seen, type(sa.true())):
            whole.append(name)
            continue
        linked = column.in_(sa.select(parent.table.c.id).where(seen))
        found.append(linked if ref.entity_column is None else sa.and_(entity.table.c[ref.entity_column] == name, linked))
    if whole:
        named = column.is_not(None)
        found.append(named if ref.entity_column is None else sa.and_(entity.table.c[ref.entity_column].in_(whole), named))
    return found


def _visible(site: Site, actor: Actor, name: str) -> sa.ColumnElement[bool]:
    memo = _seen.get()
    found = memo.get(name) if memo is not None else None
    if found is None:
        found = site.records.visible(actor, name)
        if memo is not None:
            memo[name] = found
    return found


def _may_read(site: Site, actor: Actor, name: str) -> bool:
    from . import permissions

    return permissions.allowed(site, actor, name, "read")
