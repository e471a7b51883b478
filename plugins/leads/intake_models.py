"""Tables of scoring and capture: the scoring rules, which public form feeds which lead pool, and
the log of captured leads with the duplicates found when each arrived."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from kernel import Base, JSONData, UTCDateTime

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class ScoreRule(Base):
    """One scoring rule: when it holds for a lead, ``points`` are added to its score (0-100)."""

    __tablename__ = "leads_score_rules"

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    position: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    #: ``field`` (the field's value is one of ``values``), ``filled`` (the field has a value),
    #: ``followups`` (at least ``number`` follow-ups), ``recency`` (followed up in the last ``number`` days)
    kind: Mapped[str] = mapped_column(sa.String(20), nullable=False)
    #: a built-in field's name or ``custom.NAME`` (kinds ``field`` and ``filled``)
    field: Mapped[str | None] = mapped_column(sa.String(120), nullable=True)
    values: Mapped[list[Any]] = mapped_column(JSONData, nullable=False, default=list)
    number: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    points: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    label: Mapped[dict[str, str]] = mapped_column(JSONData, nullable=False)
    active: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class CaptureForm(Base):
    """A public form (the kernel's, entity ``leads``) and the lead pool its submissions go to."""

    __tablename__ = "leads_capture_forms"

    slug: Mapped[str] = mapped_column(sa.String(60), primary_key=True)
    pool_id: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class Capture(Base):
    """A lead that arrived by a web form, the API or mail, and what it looked like when it came."""

    __tablename__ = "leads_captures"
    __table_args__ = (sa.Index("ix_leads_captures_at", "at"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    lead_id: Mapped[int] = mapped_column(sa.BigInteger, nullable=False, index=True)
    channel: Mapped[str] = mapped_column(sa.String(20), nullable=False)  # web_form, api, email
    form_slug: Mapped[str | None] = mapped_column(sa.String(60), nullable=True)
    duplicate_ids: Mapped[list[Any]] = mapped_column(JSONData, nullable=False, default=list)  # [["leads", 3], ["customers", 9]]
    hidden_duplicates: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


RULES = ScoreRule.__table__
CAPTURE_FORMS = CaptureForm.__table__
CAPTURES = Capture.__table__
