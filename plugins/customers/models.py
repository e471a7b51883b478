"""The plugin's tables, all named ``customers_*``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from kernel import Base, JSONData, RecordMixin, UTCDateTime

CUSTOMERS = "customers_customers"


class Customer(RecordMixin, Base):
    __tablename__ = CUSTOMERS
    name: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    kind: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="company")
    level: Mapped[str | None] = mapped_column(sa.String(40), nullable=True, index=True)
    industry: Mapped[str | None] = mapped_column(sa.String(80), nullable=True, index=True)
    region: Mapped[str | None] = mapped_column(sa.String(80), nullable=True, index=True)
    source: Mapped[str | None] = mapped_column(sa.String(80), nullable=True)
    status: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="potential", index=True)
    owner_id: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True, index=True)
    team_id: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True, index=True)
    sea_id: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True, index=True)
    shared_user_ids: Mapped[list[int]] = mapped_column(JSONData, nullable=False, default=list)
    shared_team_ids: Mapped[list[int]] = mapped_column(JSONData, nullable=False, default=list)
    tags: Mapped[list[str]] = mapped_column(JSONData, nullable=False, default=list)
    phone: Mapped[str | None] = mapped_column(sa.String(40), nullable=True)
    phones: Mapped[list[str]] = mapped_column(JSONData, nullable=False, default=list)
    email: Mapped[str | None] = mapped_column(sa.String(254), nullable=True)
    emails: Mapped[list[str]] = mapped_column(JSONData, nullable=False, default=list)
    address: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    website: Mapped[str | None] = mapped_column(sa.String(254), nullable=True)
    credit_code: Mapped[str | None] = mapped_column(sa.String(18), nullable=True, index=True)
    last_followed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    churn_flag: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False, index=True)
    churn_reason: Mapped[str | None] = mapped_column(sa.String(300), nullable=True)
    churn_flagged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # normalized dedupe keys, set by the write path, never sent by callers
    name_key: Mapped[str | None] = mapped_column(sa.String(200), nullable=True, index=True)
    phone_key: Mapped[str | None] = mapped_column(sa.String(40), nullable=True, index=True)
    email_key: Mapped[str | None] = mapped_column(sa.String(254), nullable=True, index=True)


class Contact(RecordMixin, Base):
    __tablename__ = "customers_contacts"
    customer_id: Mapped[int] = mapped_column(sa.ForeignKey(f"{CUSTOMERS}.id"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(sa.String(120), nullable=False)
    title: Mapped[str | None] = mapped_column(sa.String(120), nullable=True)
    phone: Mapped[str | None] = mapped_column(sa.String(40), nullable=True)
    phones: Mapped[list[str]] = mapped_column(JSONData, nullable=False, default=list)
    email: Mapped[str | None] = mapped_column(sa.String(254), nullable=True)
    emails: Mapped[list[str]] = mapped_column(JSONData, nullable=False, default=list)
    wechat: Mapped[str | None] = mapped_column(sa.String(80), nullable=True)
    birthday: Mapped[Any | None] = mapped_column(sa.Date, nullable=True)
    notes: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    is_primary: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    phone_key: Mapped[str | None] = mapped_column(sa.String(40), nullable=True, index=True)
    email_key: Mapped[str | None] = mapped_column(sa.String(254), nullable=True, index=True)


class Followup(RecordMixin, Base):
    __tablename__ = "customers_followups"
    __table_args__ = (sa.Index("ix_customers_followups_target", "entity", "record_id"),)
    customer_id: Mapped[int | None] = mapped_column(sa.ForeignKey(f"{CUSTOMERS}.id"), nullable=True, index=True)
    entity: Mapped[str | None] = mapped_column(sa.String(80), nullable=True)
    record_id: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)
    method: Mapped[str] = mapped_column(sa.String(20), nullable=False)
    content: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    followed_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, index=True)
    next_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    owner_id: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True, index=True)


class Task(RecordMixin, Base):
    __tablename__ = "customers_tasks"
    __table_args__ = (
        sa.Index("ix_customers_tasks_target", "entity", "record_id"),
        sa.Index("ix_customers_tasks_due", "status", "due_at"),
        sa.Index("ix_customers_tasks_remind", "status", "remind_at"),
    )
    title: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    description: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    assignee_id: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True, index=True)
    customer_id: Mapped[int | None] = mapped_column(sa.ForeignKey(f"{CUSTOMERS}.id"), nullable=True, index=True)
    entity: Mapped[str | None] = mapped_column(sa.String(80), nullable=True)
    record_id: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)
    priority: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="normal")
    status: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="open")
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    remind_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Share(Base):
    """Who a customer is shared with besides its owner: a derived index of the customer's
    ``shared_user_ids`` and ``shared_team_ids``, kept in step by the write path."""

    __tablename__ = "customers_shares"
    __table_args__ = (sa.Index("ix_customers_shares_target", "kind", "target_id"),)
    customer_id: Mapped[int] = mapped_column(sa.ForeignKey(f"{CUSTOMERS}.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(10), primary_key=True)  # "user" or "team"
    target_id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)


class Merge(Base):
    """One merge: both records as they were, the picks, and every row moved (for ``unmerge``)."""

    __tablename__ = "customers_merges"
    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True)
    survivor_id: Mapped[int] = mapped_column(sa.BigInteger, nullable=False, index=True)
    merged_id: Mapped[int] = mapped_column(sa.BigInteger, nullable=False, index=True)
    survivor: Mapped[dict[str, Any]] = mapped_column(JSONData, nullable=False)
    merged: Mapped[dict[str, Any]] = mapped_column(JSONData, nullable=False)
    fields: Mapped[dict[str, str]] = mapped_column(JSONData, nullable=False)
    moved: Mapped[dict[str, Any]] = mapped_column(JSONData, nullable=False)
    merged_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    merged_by: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    undone_by: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)
