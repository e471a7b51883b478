"""The plugin's tables, all named ``leads_*``: the leads and the lead pools (线索池)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from kernel import Base, JSONData, RecordMixin, UTCDateTime
from plugins.pools import PoolMixin


class LeadPool(RecordMixin, PoolMixin, Base):
    """A lead pool: the pools engine's rule columns, plus the routing rules that send new unowned
    leads here (``[{"field": "industry", "value": "education"}, {"field": "region", "in": ["shanghai"]}]``,
    any rule matching) and whether it is the default pool (the one leads go to when none matches)."""

    __tablename__ = "leads_pools"
    routing_rules: Mapped[list[dict[str, Any]]] = mapped_column(JSONData, nullable=False, default=list)
    is_default: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)


class Lead(RecordMixin, Base):
    __tablename__ = "leads_leads"
    __table_args__ = (sa.Index("ix_leads_leads_pool_owner", "pool_id", "owner_id"),)
    name: Mapped[str] = mapped_column(sa.String(120), nullable=False)
    company: Mapped[str | None] = mapped_column(sa.String(200), nullable=True)
    title: Mapped[str | None] = mapped_column(sa.String(120), nullable=True)
    phone: Mapped[str | None] = mapped_column(sa.String(40), nullable=True)
    email: Mapped[str | None] = mapped_column(sa.String(254), nullable=True)
    wechat: Mapped[str | None] = mapped_column(sa.String(80), nullable=True)
    source: Mapped[str | None] = mapped_column(sa.String(80), nullable=True, index=True)
    region: Mapped[str | None] = mapped_column(sa.String(80), nullable=True, index=True)
    industry: Mapped[str | None] = mapped_column(sa.String(80), nullable=True, index=True)
    pool_id: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)
    owner_id: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True, index=True)
    status: Mapped[str] = mapped_column(sa.String(40), nullable=False, default="new", index=True)
    score: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0, index=True)
    score_reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSONData, nullable=False, default=list)
    last_followed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    notes: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    invalid_reason: Mapped[str | None] = mapped_column(sa.String(80), nullable=True)
    customer_id: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True, index=True)
    contact_id: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)
    opportunity_id: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)
    converted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # normalized dedupe keys (customers' company_key / phone_key / email_key), set by the write path
    company_key: Mapped[str | None] = mapped_column(sa.String(200), nullable=True, index=True)
    phone_key: Mapped[str | None] = mapped_column(sa.String(40), nullable=True, index=True)
    email_key: Mapped[str | None] = mapped_column(sa.String(254), nullable=True, index=True)


LEADS = Lead.__table__
POOLS = LeadPool.__table__
