"""A tiny client of ``pools`` for the tests: ``items`` wait in ``item_pools``.

Written the way ``leads`` and ``sea`` use the engine: a pool entity on :class:`PoolMixin`, a
:class:`PoolKind`, the registrations handed over to ``pools``, and a "closed" answer.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from kernel import Entity, JSONData, RecordMixin, UTCDateTime, hookimpl
from plugins.pools import PoolFields, PoolKind, PoolMixin, entity_actions, masks, timers

NAME = "pooltest"
REQUIRES = ("pools",)


class TestBase(DeclarativeBase):
    """A base of its own: the test tables stay out of the kernel's metadata (created by :func:`create_tables`)."""

    type_annotation_map = {dict[str, Any]: JSONData}


class ItemPool(RecordMixin, PoolMixin, TestBase):
    __tablename__ = "pooltest_item_pools"


class Item(RecordMixin, TestBase):
    __tablename__ = "pooltest_items"
    name: Mapped[str] = mapped_column(sa.String(200))
    phone: Mapped[str | None] = mapped_column(sa.String(40), nullable=True)
    email: Mapped[str | None] = mapped_column(sa.String(254), nullable=True)
    level: Mapped[str | None] = mapped_column(sa.String(10), nullable=True)
    region: Mapped[str | None] = mapped_column(sa.String(40), nullable=True)
    pool_id: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True, index=True)
    owner_id: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True, index=True)
    last_activity_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    closed: Mapped[bool] = mapped_column(sa.Boolean, default=False)


class ItemFields(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    phone: str | None = Field(None, max_length=40)
    email: str | None = Field(None, max_length=254)
    level: str | None = Field(None, max_length=10)
    region: str | None = Field(None, max_length=40)
    pool_id: int | None = None
    owner_id: int | None = None
    last_activity_at: datetime | None = None
    closed: bool = False


KIND = PoolKind(
    entity="items", pool_entity="item_pools", pool_field="pool_id", activity_field="last_activity_at", level_field="level",
    maskable=("phone", "email"),
)


def create_tables(engine: sa.Engine) -> None:
    TestBase.metadata.create_all(engine)


@hookimpl
def register_entities() -> list[Entity]:
    return [
        Entity("item_pools", {"en": "Item pool", "zh_CN": "条目池"}, {"en": "Item pool settings", "zh_CN": "条目池设置"}, ItemPool, PoolFields),
        Entity(
            "items", {"en": "Item", "zh_CN": "条目"}, {"en": "Items", "zh_CN": "条目"}, Item, ItemFields,
            owner_field="owner_id", searchable=("name", "phone", "email"),
        ),
    ]


@hookimpl
def pools_register_kinds() -> list[PoolKind]:
    return [KIND]


@hookimpl
def pools_closed_ids(site: Any, conn: sa.Connection, entity: str, ids: list[int]) -> list[int] | None:
    if entity != "items":
        return None
    table = Item.__table__
    return list(conn.scalars(sa.select(table.c.id).where(table.c.id.in_(ids), table.c.closed.is_(True))))


@hookimpl
def register_entity_actions() -> dict[str, Any]:
    return entity_actions(KIND)


@hookimpl
def register_masks() -> list[Any]:
    return masks(KIND, ItemPool)


@hookimpl
def register_timers() -> list[Any]:
    return timers(KIND)
