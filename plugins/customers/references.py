"""Checks that user and team ids given on a record exist (read through the kernel's entities)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import sqlalchemy as sa

from kernel import ValidationError

if TYPE_CHECKING:
    from kernel import Site


def check_ids(site: Site, conn: sa.Connection, entity: str, field: str, ids: Iterable[int | None]) -> None:
    """Refuse ``ids`` of ``entity`` (``users``, ``teams``) that do not exist, naming ``field``."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return
    target = site.view.entity(entity)
    if target is None:
        raise ValidationError.at([field], f"{entity} are not enabled")
    found = set(conn.scalars(sa.select(target.table.c.id).where(target.table.c.id.in_(wanted))))
    missing = sorted(wanted - found)
    if missing:
        raise ValidationError.at([field], f"no {entity} record with id {missing[0]}")
