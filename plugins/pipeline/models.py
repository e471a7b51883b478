"""The plugin's tables: pipelines, opportunities (商机), and the stage rules the kernel's states do not carry.

A pipeline's stages are the kernel's admin-edited states of ``opportunities`` (``kernel_states``,
one set per ``pipeline_id``): key, labels, kind, the fields required to leave a stage. What a
stage needs beyond that — the default probability, the feedback asked on entering it, the days
without activity after which a deal rots, and ``invalid`` as a kind of its own — lives in
``pipeline_stage_rules``, keyed by (pipeline, stage key).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from kernel import Base, JSONData, Money, RecordMixin, UTCDateTime

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class Pipeline(RecordMixin, Base):
    """One sales process (销售流程), e.g. 企业销售; its stages are the ``opportunities`` state set of its id."""

    __tablename__ = "pipeline_pipelines"
    name: Mapped[str] = mapped_column(sa.String(120), nullable=False)
    description: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    is_default: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    active: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True)
    currency: Mapped[str] = mapped_column(sa.String(3), nullable=False, default="CNY")


class Opportunity(RecordMixin, Base):
    """A deal (商机) moving through the stages of its pipeline."""

    __tablename__ = "pipeline_opportunities"
    __table_args__ = (sa.Index("ix_pipeline_opportunities_board", "pipeline_id", "stage"),)
    name: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    customer_id: Mapped[int] = mapped_column(sa.BigInteger, nullable=False, index=True)
    contact_ids: Mapped[list[int]] = mapped_column(JSONData, nullable=False, default=list)
    owner_id: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True, index=True)
    team_id: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True, index=True)
    pipeline_id: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    stage: Mapped[str] = mapped_column(sa.String(40), nullable=False)
    amount: Mapped[Decimal | None] = mapped_column(Money(), nullable=True)
    currency: Mapped[str] = mapped_column(sa.String(3), nullable=False, default="CNY")
    expected_close: Mapped[date | None] = mapped_column(sa.Date, nullable=True, index=True)
    probability: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    source: Mapped[str | None] = mapped_column(sa.String(80), nullable=True)
    competitor_notes: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    next_step: Mapped[str | None] = mapped_column(sa.String(300), nullable=True)
    outcome: Mapped[str] = mapped_column(sa.String(10), nullable=False, default="open", index=True)
    lost_reason: Mapped[str | None] = mapped_column(sa.String(40), nullable=True)
    stage_feedback: Mapped[dict[str, Any] | None] = mapped_column(JSONData, nullable=True)
    won_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    last_activity_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    lead_id: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True, index=True)


class StageRule(Base):
    """What a stage of one pipeline needs beyond the kernel's state: kind (``invalid`` included),
    default probability (0-100), rotting days (``None``: never rots) and the feedback form."""

    __tablename__ = "pipeline_stage_rules"
    __table_args__ = (sa.UniqueConstraint("pipeline_id", "key"),)
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    pipeline_id: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    key: Mapped[str] = mapped_column(sa.String(40), nullable=False)
    kind: Mapped[str] = mapped_column(sa.String(10), nullable=False, default="open")
    probability: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    rotting_days: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    feedback: Mapped[list[dict[str, Any]]] = mapped_column(JSONData, nullable=False, default=list)


PIPELINES = Pipeline.__table__
OPPORTUNITIES = Opportunity.__table__
RULES = StageRule.__table__
