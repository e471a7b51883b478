"""The rules of a pipeline record: one default at a time, new pipelines start with the standard
stages, and a pipeline that opportunities use cannot be deleted."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from kernel import Conflict

from .models import OPPORTUNITIES, PIPELINES
from .stages import DEFAULT_STAGES, ENTITY, define_stages

if TYPE_CHECKING:
    from kernel import Actor, Site


def after_create(site: Site, conn: sa.Connection, actor: Actor, record: dict[str, Any]) -> None:
    if record["is_default"]:
        _only_default(conn, record["id"])
    if not site.states.definitions(ENTITY, record["id"], conn=conn):
        define_stages(site, conn, actor, record["id"], DEFAULT_STAGES)


def after_update(conn: sa.Connection, record: dict[str, Any], changes: dict[str, Any]) -> None:
    if "is_default" in changes and record["is_default"]:
        _only_default(conn, record["id"])


def _only_default(conn: sa.Connection, pipeline_id: int) -> None:
    conn.execute(sa.update(PIPELINES).where(PIPELINES.c.id != pipeline_id, PIPELINES.c.is_default.is_(True)).values(is_default=False))


def before_delete(conn: sa.Connection, record: dict[str, Any]) -> None:
    used = conn.scalar(sa.select(sa.func.count()).select_from(OPPORTUNITIES).where(OPPORTUNITIES.c.pipeline_id == record["id"])) or 0
    if used:
        message = f"{used} opportunities use this pipeline: move them to another pipeline, or make it inactive"
        raise Conflict(message, [{"loc": ["id"], "msg": message, "count": used}])
