"""The bench's own plugin: one entity, ``deals``, with a native indexed column to compare against.

Deals are owned (``owner_id``), so a sales rep's record rule is part of the SQL.
Its table hangs off a metadata of its own and is created with ``create_all``, so
the kernel's models-versus-migrations check never sees it.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from kernel import Entity, RecordMixin, hookimpl

NAME = "bench"
REQUIRES: tuple[str, ...] = ()

#: The five custom fields every deal carries; ``amount`` is the indexed one.
CUSTOM_FIELDS: dict[str, dict[str, Any]] = {
    "amount": {"type": "number", "minimum": 0},
    "probability": {"type": "integer", "minimum": 0, "maximum": 100},
    "region": {"type": "string", "enum": ["north", "south", "east", "west"]},
    "closes_on": {"type": "string", "format": "date"},
    "contact_email": {"type": "string", "format": "email"},
}
INDEXED_FIELD = "amount"


class BenchBase(DeclarativeBase):
    metadata = sa.MetaData()


class Deal(RecordMixin, BenchBase):
    __tablename__ = "bench_deals"
    title: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    stage: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="new")
    priority: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0, index=True)
    owner_id: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True, index=True)  # a kernel user


class DealFields(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1, max_length=200)
    stage: str = Field("new", pattern="^(new|won|lost)$")
    priority: int = Field(0, ge=0)
    owner_id: int | None = Field(None, ge=1)


@hookimpl
def register_entities() -> list[Entity]:
    return [
        Entity(
            name="deals",
            label={"en": "Deal", "zh_CN": "交易"},
            label_plural={"en": "Deals", "zh_CN": "交易"},
            model=Deal,
            fields=DealFields,
            owner_field="owner_id",  # so record rules (own / team) apply to a sales rep
        )
    ]
