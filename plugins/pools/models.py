"""The pool rule columns every pool entity carries (:class:`PoolMixin`, :class:`PoolFields`) and the
plugin's own tables, all named ``pools_*``: holdings, daily claims, cooldowns, round-robin state and
the held records' assignment times."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Mapped, mapped_column

from kernel import Base, JSONData, UTCDateTime

#: The rule columns of every pool entity (shared/CONTRACT.md), besides ``name``.
POOL_RULES = (
    "admin_ids", "member_ids", "assignment", "claim_limit", "daily_claim_limit", "followup_days", "close_days",
    "remind_hours", "cooldown_days", "masked_fields", "level_overrides",
)
#: Rules a level may override (``level_overrides = {"A": {"followup_days": 30}}``).
LEVEL_RULES = ("claim_limit", "daily_claim_limit", "followup_days", "close_days", "remind_hours", "cooldown_days")
STRATEGIES = ("manual", "round_robin", "least_loaded", "rules")


class PoolMixin:
    """The columns of a pool entity's table: ``class LeadPool(RecordMixin, PoolMixin, Base)``.

    ``admin_ids``/``member_ids`` are user ids, ``admin_team_ids``/``member_team_ids`` team ids (every
    user of the team); admins are members too. A limit or a number of days left empty (``None``) is no
    limit, no deadline. ``assignment`` is the strategy for records entering the pool; ``assignment_rules``
    the ``rules`` strategy's list ``[{"field": "region", "value": "上海", "owner_id": 5}]``.
    """

    name: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    admin_ids: Mapped[list[int]] = mapped_column(JSONData, nullable=False, default=list)
    admin_team_ids: Mapped[list[int]] = mapped_column(JSONData, nullable=False, default=list)
    member_ids: Mapped[list[int]] = mapped_column(JSONData, nullable=False, default=list)
    member_team_ids: Mapped[list[int]] = mapped_column(JSONData, nullable=False, default=list)
    assignment: Mapped[str] = mapped_column(sa.String(40), nullable=False, default="manual")
    assignment_rules: Mapped[list[dict[str, Any]]] = mapped_column(JSONData, nullable=False, default=list)
    claim_limit: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    daily_claim_limit: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    followup_days: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    close_days: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    remind_hours: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    cooldown_days: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    masked_fields: Mapped[list[str]] = mapped_column(JSONData, nullable=False, default=list)
    level_overrides: Mapped[dict[str, dict[str, int]]] = mapped_column(JSONData, nullable=False, default=dict)


Id = Field(ge=1, lt=2**63)
Count = Field(None, ge=0, le=1_000_000)


class AssignmentRule(BaseModel):
    """One line of the ``rules`` strategy: records whose ``field`` equals ``value`` go to ``owner_id``."""

    model_config = ConfigDict(extra="forbid")
    field: str = Field(min_length=1, max_length=120, description="a field of the pooled entity, or custom.NAME")
    value: Any = None
    owner_id: int = Id


class PoolFields(BaseModel):
    """The built-in input fields of a pool entity; a client's pool entity uses it (or a subclass) as its ``fields``."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    admin_ids: list[int] = Field(default_factory=list, max_length=1000)
    admin_team_ids: list[int] = Field(default_factory=list, max_length=1000)
    member_ids: list[int] = Field(default_factory=list, max_length=5000)
    member_team_ids: list[int] = Field(default_factory=list, max_length=1000)
    assignment: str = Field("manual", min_length=1, max_length=40)
    assignment_rules: list[AssignmentRule] = Field(default_factory=list, max_length=500)
    claim_limit: int | None = Count
    daily_claim_limit: int | None = Count
    followup_days: int | None = Field(None, ge=1, le=3650)
    close_days: int | None = Field(None, ge=1, le=3650)
    remind_hours: int | None = Field(None, ge=1, le=24 * 365)
    cooldown_days: int | None = Field(None, ge=0, le=3650)
    masked_fields: list[str] = Field(default_factory=list, max_length=100)
    level_overrides: dict[str, dict[str, int | None]] = Field(default_factory=dict, max_length=100)


class Holding(Base):
    """How many open records a member holds from one pool: changed only by a conditional update."""

    __tablename__ = "pools_holdings"
    __table_args__ = (sa.UniqueConstraint("entity", "pool_id", "user_id"),)
    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True)
    entity: Mapped[str] = mapped_column(sa.String(80), nullable=False)
    pool_id: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    user_id: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    held: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)


class DailyClaims(Base):
    """How many records a member claimed from one pool on one day (the site's time zone)."""

    __tablename__ = "pools_daily_claims"
    __table_args__ = (sa.UniqueConstraint("entity", "pool_id", "user_id", "day"),)
    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True)
    entity: Mapped[str] = mapped_column(sa.String(80), nullable=False)
    pool_id: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    user_id: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    day: Mapped[date] = mapped_column(sa.Date, nullable=False)
    claimed: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)


class Cooldown(Base):
    """The previous owner may not take the record again before ``until``."""

    __tablename__ = "pools_cooldowns"
    __table_args__ = (sa.UniqueConstraint("entity", "record_id", "user_id"), sa.Index("ix_pools_cooldowns_until", "until"))
    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True)
    entity: Mapped[str] = mapped_column(sa.String(80), nullable=False)
    record_id: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    user_id: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    until: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class Rotation(Base):
    """Round-robin state of one pool: the member who got the last record."""

    __tablename__ = "pools_rotations"
    __table_args__ = (sa.UniqueConstraint("entity", "pool_id"),)
    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True)
    entity: Mapped[str] = mapped_column(sa.String(80), nullable=False)
    pool_id: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    last_user_id: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)


class Hold(Base):
    """One pooled record held by a member: since when (the follow-up deadline counts from the later of
    this and the last activity), whether it counts against the limit (a closed record does not), and
    when its owner was reminded.

    A hold is *live* while its record is in its pool and owned by its user; only a live hold counts. The
    return job leaves its records' holds in place (their slots given back from them, no row written: a
    night of 10,000 returns writes 10,000 pages fewer); the next claim or assignment overwrites the row,
    and every other change judges a hold against the record's pool and owner before it (:func:`.holdings.unhold`).

    Keyed by the record (``entity``, ``record_id``), without a rowid on SQLite: the row lives in the
    key's b-tree, so taking a hold back (a claim, a return) writes one page of it, not a page of the
    table and another of a unique index (a night of 10,000 returns: 6,000 pages fewer). No other index: a
    member's or a pool's holds are found through the records' owner and pool indexes."""

    __tablename__ = "pools_holds"
    __table_args__ = ({"sqlite_with_rowid": False},)
    entity: Mapped[str] = mapped_column(sa.String(80), primary_key=True)
    record_id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    pool_id: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    user_id: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    counted: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


HOLDINGS = Holding.__table__
DAILY = DailyClaims.__table__
COOLDOWNS = Cooldown.__table__
ROTATIONS = Rotation.__table__
HOLDS = Hold.__table__
