"""The pools benches' client plugin: ``prospects`` wait in ``prospect_pools`` (a pool kind of ``pools``),
as ``leads`` and ``sea`` use the engine; its tables hang off a metadata of their own (``create_all``)."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from kernel import Entity, JSONData, RecordMixin, Settings, Site, UTCDateTime, hookimpl
from plugins.pools import PoolFields, PoolKind, PoolMixin, entity_actions, masks, timers

NAME = "benchpools"
REQUIRES = ("pools",)


class PoolsBase(DeclarativeBase):
    metadata = sa.MetaData()
    type_annotation_map = {dict[str, Any]: JSONData}


class ProspectPool(RecordMixin, PoolMixin, PoolsBase):
    __tablename__ = "benchpools_pools"


class Prospect(RecordMixin, PoolsBase):
    __tablename__ = "benchpools_prospects"
    name: Mapped[str] = mapped_column(sa.String(200))
    phone: Mapped[str | None] = mapped_column(sa.String(40), nullable=True)
    level: Mapped[str | None] = mapped_column(sa.String(10), nullable=True)
    pool_id: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True, index=True)
    owner_id: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True, index=True)
    last_followed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ProspectFields(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    phone: str | None = Field(None, max_length=40)
    level: str | None = Field(None, max_length=10)
    pool_id: int | None = None
    owner_id: int | None = None
    last_followed_at: datetime | None = None


KIND = PoolKind(entity="prospects", pool_entity="prospect_pools", activity_field="last_followed_at", level_field="level", maskable=("phone",))
TABLE: sa.Table = Prospect.__table__  # type: ignore[assignment]
POOLS: sa.Table = ProspectPool.__table__  # type: ignore[assignment]


@hookimpl
def register_entities() -> list[Entity]:
    return [
        Entity("prospect_pools", {"en": "Prospect pool", "zh_CN": "客户池"}, {"en": "Prospect pools", "zh_CN": "客户池"}, ProspectPool, PoolFields),
        Entity("prospects", {"en": "Prospect", "zh_CN": "潜在客户"}, {"en": "Prospects", "zh_CN": "潜在客户"}, Prospect, ProspectFields, owner_field="owner_id"),
    ]


@hookimpl
def pools_register_kinds() -> list[PoolKind]:
    return [KIND]


@hookimpl
def register_entity_actions() -> dict[str, Any]:
    return entity_actions(KIND)


@hookimpl
def register_masks() -> list[Any]:
    return masks(KIND, ProspectPool)


@hookimpl
def register_timers() -> list[Any]:
    return timers(KIND)


def make_site(url: str, clock: Any = None, **settings: Any) -> Site:
    """The site the benches drive: ``pools`` and this plugin, on ``url``."""
    from plugins.pools import plugin as pools_plugin

    me = sys.modules[__name__]
    settings.setdefault("plugins", ("pools", NAME))
    return Site(Settings(database_url=url, **settings), clock=clock, extra_plugins=[pools_plugin, me])


def app() -> Any:
    """uvicorn factory (``--factory``): each worker builds its own site, as ``crm serve --workers N`` does."""
    import os

    from kernel.web.app import create_app

    from .http_app import SECRET_ENV, URL_ENV

    return create_app(site=make_site(os.environ[URL_ENV], secret_key=os.environ.get(SECRET_ENV)))
