"""The kernel's own tables. Plugins keep theirs in their own ``models.py``."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from .db import Base, BigId, JSONData, Money, RecordMixin, UTCDateTime


class Version(Base):
    """Counters that processes poll to learn that shared state changed (plugins, custom fields)."""

    __tablename__ = "kernel_versions"
    name: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    value: Mapped[int] = mapped_column(sa.BigInteger, nullable=False, default=0)


class PluginState(Base):
    """An admin's choice to enable or disable a plugin; overrides ``crm.toml`` while present."""

    __tablename__ = "kernel_plugins"
    name: Mapped[str] = mapped_column(sa.String(80), primary_key=True)
    enabled: Mapped[bool] = mapped_column(sa.Boolean, nullable=False)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class CustomFieldDef(Base):
    """One admin-defined field. ``active`` false: removed but its values are kept until purged."""

    __tablename__ = "kernel_custom_fields"
    __table_args__ = (sa.UniqueConstraint("entity", "name"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    entity: Mapped[str] = mapped_column(sa.String(80), nullable=False)
    name: Mapped[str] = mapped_column(sa.String(40), nullable=False)
    schema: Mapped[dict[str, Any]] = mapped_column(JSONData, nullable=False)
    label: Mapped[dict[str, str]] = mapped_column(JSONData, nullable=False)
    indexed: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    active: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True)
    version: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class AuditEntry(Base):
    """Who changed what, when, through which channel: one row per write."""

    __tablename__ = "kernel_audit"
    __table_args__ = (sa.Index("ix_kernel_audit_record", "entity", "record_id", "id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, index=True)
    actor_id: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True, index=True)
    actor: Mapped[str] = mapped_column(sa.String(254), nullable=False)
    channel: Mapped[str] = mapped_column(sa.String(20), nullable=False)
    entity: Mapped[str] = mapped_column(sa.String(80), nullable=False)
    record_id: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)
    action: Mapped[str] = mapped_column(sa.String(40), nullable=False)
    changes: Mapped[dict[str, Any]] = mapped_column(JSONData, nullable=False)
    ip: Mapped[str | None] = mapped_column(sa.String(45), nullable=True)


class JobRun(Base):
    """One run of a periodic job for one time slot; the unique key makes a slot run once."""

    __tablename__ = "kernel_job_runs"
    __table_args__ = (sa.UniqueConstraint("job", "slot"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    job: Mapped[str] = mapped_column(sa.String(120), nullable=False)
    slot: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    status: Mapped[str] = mapped_column(sa.String(20), nullable=False)
    error: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    worker: Mapped[str] = mapped_column(sa.String(120), nullable=False)


class Team(RecordMixin, Base):
    __tablename__ = "kernel_teams"
    name: Mapped[str] = mapped_column(sa.String(120), nullable=False, unique=True)
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("kernel_teams.id", ondelete="SET NULL"), nullable=True)
    manager_id: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)  # checked by core's hooks


class Role(RecordMixin, Base):
    __tablename__ = "kernel_roles"
    name: Mapped[str] = mapped_column(sa.String(60), nullable=False, unique=True)
    label: Mapped[dict[str, str]] = mapped_column(JSONData, nullable=False, default=dict)
    # JSON null: the role's declared default grants (see kernel.permissions); a list: exactly these
    permissions: Mapped[list[str] | None] = mapped_column(JSONData, nullable=False, default=list)
    builtin: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)


class User(RecordMixin, Base):
    __tablename__ = "kernel_users"
    email: Mapped[str] = mapped_column(sa.String(254), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(sa.String(120), nullable=False, default="")
    password_hash: Mapped[str | None] = mapped_column(sa.String(255), nullable=True)
    role: Mapped[str] = mapped_column(sa.ForeignKey("kernel_roles.name", onupdate="CASCADE"), nullable=False)
    team_id: Mapped[int | None] = mapped_column(sa.ForeignKey("kernel_teams.id", ondelete="SET NULL"), nullable=True)
    active: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True)
    # bumped when the password, the role or ``active`` changes: sessions and tokens issued under
    # another version are refused (kernel.web.auth)
    credentials_version: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=1, server_default="1")


class ApiToken(Base):
    """A bearer token; only its SHA-256 is stored. Revoked or expired tokens are refused."""

    __tablename__ = "kernel_api_tokens"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("kernel_users.id", ondelete="CASCADE"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(sa.String(120), nullable=False, default="")
    token_hash: Mapped[str] = mapped_column(sa.String(64), nullable=False, unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    credentials_version: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=1, server_default="1")  # the user's, when issued


class BrowserSession(Base):
    """A signed-in browser. The cookie carries a signed random id; only its SHA-256 is kept,
    and logging out deletes the row, so the cookie stops working everywhere at once."""

    __tablename__ = "kernel_sessions"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("kernel_users.id", ondelete="CASCADE"), nullable=False, index=True)
    sid_hash: Mapped[str] = mapped_column(sa.String(64), nullable=False, unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    ip: Mapped[str | None] = mapped_column(sa.String(45), nullable=True)
    credentials_version: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=1, server_default="1")  # the user's, when issued


class LoginFailure(Base):
    """One failed login, counted per account and per IP to throttle guessing across workers."""

    __tablename__ = "kernel_login_failures"
    __table_args__ = (
        sa.Index("ix_kernel_login_failures_email_at", "email", "at"),
        sa.Index("ix_kernel_login_failures_ip_at", "ip", "at"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    email: Mapped[str] = mapped_column(sa.String(254), nullable=False)
    ip: Mapped[str | None] = mapped_column(sa.String(45), nullable=True)


class Secret(Base):
    """A value every process of the site must share, made once (the cookie-signing key)."""

    __tablename__ = "kernel_secrets"
    name: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    value: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class Notification(Base):
    """An in-app message for one user (see :mod:`kernel.notifications`)."""

    __tablename__ = "kernel_notifications"
    __table_args__ = (sa.Index("ix_kernel_notifications_inbox", "user_id", "read_at", "id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("kernel_users.id", ondelete="CASCADE"), nullable=False)
    title: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    body: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    link: Mapped[str | None] = mapped_column(sa.String(500), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Preference(Base):
    """One user's own choice (their language, say), written by the user without any entity permission."""

    __tablename__ = "kernel_preferences"
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("kernel_users.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(60), primary_key=True)
    value: Mapped[Any] = mapped_column(JSONData, nullable=True)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class SavedView(Base):
    """A list's filters, search and sort kept under a name by one user (``shared``: seen by everyone)."""

    __tablename__ = "kernel_saved_views"
    __table_args__ = (sa.UniqueConstraint("user_id", "entity", "name"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("kernel_users.id", ondelete="CASCADE"), nullable=False)
    entity: Mapped[str] = mapped_column(sa.String(80), nullable=False)
    name: Mapped[str] = mapped_column(sa.String(80), nullable=False)
    query: Mapped[str] = mapped_column(sa.String(2000), nullable=False)
    shared: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class SystemSetting(Base):
    """A setting an admin changed at run time (see :mod:`kernel.systemsettings`); overrides ``crm.toml``."""

    __tablename__ = "kernel_settings"
    scope: Mapped[str] = mapped_column(sa.String(80), primary_key=True)  # "crm" or a plugin's name
    name: Mapped[str] = mapped_column(sa.String(80), primary_key=True)
    value: Mapped[Any] = mapped_column(JSONData, nullable=True)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    changed_by: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)


class Upload(Base):
    """A file uploaded for a multi-step page (an import) between its steps; found by its token's SHA-256."""

    __tablename__ = "kernel_uploads"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), nullable=False, unique=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("kernel_users.id", ondelete="CASCADE"), nullable=False, index=True)
    entity: Mapped[str] = mapped_column(sa.String(80), nullable=False)
    filename: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    size: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    data: Mapped[bytes] = mapped_column(sa.LargeBinary, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, index=True)
    checked: Mapped[Any] = mapped_column(JSONData, nullable=True)  # the last dry run's report and what it was run with


class OwnershipEvent(Base):
    """One change of a record's owner, written by :meth:`kernel.records.Records.assign` (see :mod:`kernel.ownership`)."""

    __tablename__ = "kernel_ownership_events"
    __table_args__ = (
        sa.Index("ix_kernel_ownership_events_record", "entity", "record_id"),
        sa.Index("ix_kernel_ownership_events_to_owner", "to_owner", "at"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    entity: Mapped[str] = mapped_column(sa.String(80), nullable=False)
    record_id: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    from_owner: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)
    to_owner: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)
    actor_id: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)  # None: a job or the kernel
    actor: Mapped[str] = mapped_column(sa.String(254), nullable=False)  # the user's email, or the job's name
    reason: Mapped[str | None] = mapped_column(sa.String(500), nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class SearchDocument(Base):
    """One record's searchable text, for ``q`` on lists (see :mod:`kernel.search`; derived, rebuilt at will).

    ``tokens`` holds the short tokens (SQLite, space-separated, indexed by FTS5 tables the
    migration adds) or the short tokens and trigrams (PostgreSQL, a ``text[]`` with a GIN index the
    migration adds).
    """

    __tablename__ = "kernel_search"
    __table_args__ = (sa.UniqueConstraint("entity", "record_id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    entity: Mapped[str] = mapped_column(sa.String(80), nullable=False)
    record_id: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    title: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    body: Mapped[str] = mapped_column(sa.Text, nullable=False)
    tokens: Mapped[Any] = mapped_column(sa.Text().with_variant(ARRAY(sa.Text), "postgresql"), nullable=False)


class SequenceSetting(Base):
    """An admin's change to a numbering sequence (see :mod:`kernel.sequences`); overrides the
    entity's declaration while present."""

    __tablename__ = "kernel_sequences"
    name: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    prefix: Mapped[str] = mapped_column(sa.String(40), nullable=False)
    padding: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    reset: Mapped[str] = mapped_column(sa.String(10), nullable=False)
    time_zone: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    changed_by: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)


class SequenceCounter(Base):
    """The next number of a sequence in one period (``"2026"``, ``"2026-03"``, or ``""`` when it never
    resets) and the last one handed out; taken and moved in the write transaction that uses it."""

    __tablename__ = "kernel_sequence_counters"
    name: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    period: Mapped[str] = mapped_column(sa.String(7), primary_key=True)
    next_value: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    last_value: Mapped[int] = mapped_column(sa.BigInteger, nullable=False, default=0)  # 0: none handed out yet


class Target(RecordMixin, Base):
    """A goal for one period: a metric (``"won_amount"``), for a user, a team or everyone, as an
    amount in a currency or a count (see :mod:`kernel.targets`)."""

    __tablename__ = "kernel_targets"
    metric: Mapped[str] = mapped_column(sa.String(80), nullable=False)
    period: Mapped[str] = mapped_column(sa.String(10), nullable=False)
    period_start: Mapped[date] = mapped_column(sa.Date, nullable=False)
    user_id: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)
    team_id: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)
    amount: Mapped[Decimal | None] = mapped_column(Money(), nullable=True)
    currency: Mapped[str | None] = mapped_column(sa.String(3), nullable=True)
    count: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)
    note: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    __table_args__ = (sa.Index("ix_kernel_targets_metric_period", "metric", "period_start"),)
