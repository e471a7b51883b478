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
    __table_args__ = (
        sa.Index("ix_kernel_audit_record", "entity", "record_id", "id"),
        # a user's entries only: system actions (jobs, timers) have no actor_id and are never looked up by it
        sa.Index("ix_kernel_audit_actor_id", "actor_id", sqlite_where=sa.text("actor_id IS NOT NULL"), postgresql_where=sa.text("actor_id IS NOT NULL")),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, index=True)
    actor_id: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)
    actor: Mapped[str] = mapped_column(sa.String(254), nullable=False)
    channel: Mapped[str] = mapped_column(sa.String(20), nullable=False)
    entity: Mapped[str] = mapped_column(sa.String(80), nullable=False)
    record_id: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)
    action: Mapped[str] = mapped_column(sa.String(40), nullable=False)
    changes: Mapped[dict[str, Any]] = mapped_column(JSONData, nullable=False)
    ip: Mapped[str | None] = mapped_column(sa.String(45), nullable=True)
    #: why the actor held rights it was not given (a system action, see ``Actor.elevated``); ``None``: its own
    raised_for: Mapped[str | None] = mapped_column(sa.String(200), nullable=True)


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
    sha256: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)  # of the whole file, kept in kernel_upload_parts


class OwnershipEvent(Base):
    """One change of a record's owner, written by :meth:`kernel.records.Records.assign` (see :mod:`kernel.ownership`)."""

    __tablename__ = "kernel_ownership_events"
    __table_args__ = (
        sa.Index("ix_kernel_ownership_events_record", "entity", "record_id"),
        sa.Index("ix_kernel_ownership_events_to_owner", "to_owner", "at"),
        sa.Index("ix_kernel_ownership_events_via", "via_entity", "via_id", "at"),
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
    #: what kind of change: ``assign`` (the kernel's), or a plugin's word (``claim``, ``release``, ``return`` …)
    action: Mapped[str] = mapped_column(sa.String(40), nullable=False, default="assign", server_default="assign")
    #: the record the change went through (a plugin's grouping of records: a queue, a pool), if any
    via_entity: Mapped[str | None] = mapped_column(sa.String(80), nullable=True)
    via_id: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)
    #: which rule or strategy decided it (``round_robin``, ``followup_days``), if one did
    rule: Mapped[str | None] = mapped_column(sa.String(200), nullable=True)


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


class SignedLink(Base):
    """A signed link handed out for one purpose on one record (see :mod:`kernel.links`); the token's
    signature is not stored, only what it was signed for and whether it was withdrawn or used."""

    __tablename__ = "kernel_links"
    __table_args__ = (sa.Index("ix_kernel_links_record", "entity", "record_id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    purpose: Mapped[str] = mapped_column(sa.String(40), nullable=False)
    entity: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    record_id: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    created_by: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, index=True)
    single_use: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class StoredFile(Base):
    """A file attached to a record (see :mod:`kernel.files`): its bytes, the type read from them, who attached it."""

    __tablename__ = "kernel_files"
    __table_args__ = (sa.Index("ix_kernel_files_record", "entity", "record_id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    entity: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    record_id: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    filename: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    content_type: Mapped[str] = mapped_column(sa.String(120), nullable=False)
    size: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    sha256: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    data: Mapped[bytes] = mapped_column(sa.LargeBinary, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    created_by: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)
class Task(Base):
    """One background task (see :mod:`kernel.tasks`): queued, claimed with a lease, run, kept a while."""

    __tablename__ = "kernel_tasks"
    __table_args__ = (
        sa.Index("ix_kernel_tasks_due", "status", "run_at"),
        sa.Index("ix_kernel_tasks_creator", "created_by", "id"),
        sa.Index("ix_kernel_tasks_finished", "finished_at"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(sa.String(120), nullable=False)
    status: Mapped[str] = mapped_column(sa.String(20), nullable=False)  # queued running done failed cancelled
    payload: Mapped[Any] = mapped_column(JSONData, nullable=True)
    result: Mapped[Any] = mapped_column(JSONData, nullable=True)
    error: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    progress_done: Mapped[int] = mapped_column(sa.BigInteger, nullable=False, default=0)
    progress_total: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)
    message: Mapped[str | None] = mapped_column(sa.String(500), nullable=True)
    attempts: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)  # also fences a lost worker's writes
    max_attempts: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    cancel_requested: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    run_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)  # not before (first run, or a retry's backoff)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)  # while running
    worker: Mapped[str | None] = mapped_column(sa.String(120), nullable=True)
    created_by: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)  # None: the kernel or a job
    actor: Mapped[str] = mapped_column(sa.String(254), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)  # of the latest attempt
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
class TimerRow(Base):
    """One armed deadline of one record (see :mod:`kernel.timers`); removed when it fires.

    ``due_at`` is the deadline the handler sees; ``next_at`` when to fire it, the same
    unless a failed try pushed it back (``attempts``, ``error``). Ids only grow (SQLite
    ``AUTOINCREMENT``), so a pass can leave rows armed after it began for the next one.
    """

    __tablename__ = "kernel_timers"
    __table_args__ = (
        sa.UniqueConstraint("entity", "record_id", "name"),
        sa.Index("ix_kernel_timers_due", "entity", "name", "next_at"),
        {"sqlite_autoincrement": True},
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    entity: Mapped[str] = mapped_column(sa.String(80), nullable=False)
    record_id: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    name: Mapped[str] = mapped_column(sa.String(80), nullable=False)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    next_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    attempts: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    error: Mapped[str | None] = mapped_column(sa.Text, nullable=True)


class StateDef(Base):
    """One state of an admin-edited set (see :mod:`kernel.states`): ``entity`` and ``set_key`` (the
    value of the record's ``set_by`` column as text, ``""`` for an entity with one set) name the set."""

    __tablename__ = "kernel_states"
    __table_args__ = (sa.UniqueConstraint("entity", "set_key", "key"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    entity: Mapped[str] = mapped_column(sa.String(80), nullable=False)
    set_key: Mapped[str] = mapped_column(sa.String(80), nullable=False, default="")
    key: Mapped[str] = mapped_column(sa.String(40), nullable=False)
    label: Mapped[dict[str, str]] = mapped_column(JSONData, nullable=False)
    position: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    kind: Mapped[str] = mapped_column(sa.String(10), nullable=False)
    requires: Mapped[Any] = mapped_column(JSONData, nullable=False)  # field names required to leave it
    permission: Mapped[str | None] = mapped_column(sa.String(120), nullable=True)  # needed to enter it
    transitions: Mapped[Any] = mapped_column(JSONData, nullable=True)  # keys it may move to; null: any


class StateEvent(Base):
    """One transition of a record's state, written in the transaction that moved it (see :mod:`kernel.states`).

    ``from_state`` is null for the state a record was created in; ``seconds`` is the time spent in
    ``from_state`` (null on create); ``snapshot`` holds the fields the entity names, as they were.
    """

    __tablename__ = "kernel_state_events"
    __table_args__ = (
        sa.Index("ix_kernel_state_events_record", "entity", "record_id", "id"),
        sa.Index("ix_kernel_state_events_funnel", "entity", "set_key", "to_state", "at"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    entity: Mapped[str] = mapped_column(sa.String(80), nullable=False)
    record_id: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    set_key: Mapped[str] = mapped_column(sa.String(80), nullable=False, default="")
    from_state: Mapped[str | None] = mapped_column(sa.String(40), nullable=True)
    to_state: Mapped[str] = mapped_column(sa.String(40), nullable=False)
    kind: Mapped[str] = mapped_column(sa.String(10), nullable=False)  # the kind of to_state
    actor_id: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)  # None: a job or the kernel
    actor: Mapped[str] = mapped_column(sa.String(254), nullable=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    seconds: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)
    snapshot: Mapped[Any] = mapped_column(JSONData, nullable=False)


class TrashEntry(Base):
    """A deleted record in the recycle bin (see :mod:`kernel.trash`): the whole row as JSON, who deleted
    it and when. A row that went to the bin with the record its user deleted (a child) names that
    record in ``with_entity``/``with_id`` and comes back with it."""

    __tablename__ = "kernel_trash"
    __table_args__ = (
        sa.UniqueConstraint("entity", "record_id"),
        sa.Index("ix_kernel_trash_deleted_by", "deleted_by", "deleted_at"),
        sa.Index("ix_kernel_trash_with", "with_entity", "with_id"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    entity: Mapped[str] = mapped_column(sa.String(80), nullable=False)
    record_id: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    data: Mapped[dict[str, Any]] = mapped_column(JSONData, nullable=False)
    with_entity: Mapped[str | None] = mapped_column(sa.String(80), nullable=True)
    with_id: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)
    deleted_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, index=True)
    deleted_by: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)  # None: a job or the kernel
    deleted_by_label: Mapped[str] = mapped_column(sa.String(254), nullable=False)


class RateCounter(Base):
    """How many requests one key (``"form:contact:203.0.113.9"``) made in the window starting at
    ``window_start`` (see :mod:`kernel.ratelimits`); counted by an atomic upsert, so every worker agrees."""

    __tablename__ = "kernel_rate_counters"
    key: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    count: Mapped[int] = mapped_column(sa.Integer, nullable=False)


class PublicForm(Base):
    """A form an admin built for anonymous visitors of ``/public/forms/SLUG`` (see :mod:`kernel.forms`)."""

    __tablename__ = "kernel_forms"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    slug: Mapped[str] = mapped_column(sa.String(60), nullable=False, unique=True)
    entity: Mapped[str] = mapped_column(sa.String(80), nullable=False)
    title: Mapped[dict[str, str]] = mapped_column(JSONData, nullable=False)
    fields: Mapped[list[dict[str, Any]]] = mapped_column(JSONData, nullable=False)
    consent: Mapped[dict[str, str] | None] = mapped_column(JSONData, nullable=True)
    thank_you: Mapped[dict[str, str]] = mapped_column(JSONData, nullable=False)
    redirect_url: Mapped[str | None] = mapped_column(sa.String(500), nullable=True)
    per_hour: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    active: Mapped[bool] = mapped_column(sa.Boolean, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class Consent(Base):
    """A contact's consent, keyed by normalized email or phone (see :mod:`kernel.consents`)."""

    __tablename__ = "kernel_consents"
    __table_args__ = (sa.Index("ix_kernel_consents_key", "kind", "key"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(sa.String(254), nullable=False)
    kind: Mapped[str] = mapped_column(sa.String(10), nullable=False)  # email | phone
    purpose: Mapped[str] = mapped_column(sa.String(120), nullable=False)  # "form:SLUG", say
    text: Mapped[str] = mapped_column(sa.Text, nullable=False)  # the words shown, in the visitor's language
    locale: Mapped[str] = mapped_column(sa.String(10), nullable=False)
    entity: Mapped[str | None] = mapped_column(sa.String(80), nullable=True)
    record_id: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)
    given_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    ip: Mapped[str | None] = mapped_column(sa.String(45), nullable=True)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class OutboxCommit(Base):
    """One committed transaction that wrote events: the ranges of audit ids it wrote (see :mod:`kernel.outbox`)."""

    __tablename__ = "kernel_outbox_commits"
    __table_args__ = (sa.Index("ix_kernel_outbox_commits_at", "at"), {"sqlite_autoincrement": True})  # ids never go back
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)  # commit order
    entries: Mapped[list[list[int]]] = mapped_column(JSONData, nullable=False)  # [[first, last], …] audit ids, ascending
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class OutboxSubscriber(Base):
    """A plugin implementing ``on_event``: the last event it was handed, and which dispatcher holds it."""

    __tablename__ = "kernel_outbox_subscribers"
    name: Mapped[str] = mapped_column(sa.String(80), primary_key=True)
    position: Mapped[int] = mapped_column(sa.BigInteger, nullable=False, default=0)  # the last commit taken in full
    entry: Mapped[int] = mapped_column(sa.BigInteger, nullable=False, default=0, server_default="0")  # in the commit after it: the last audit id handed
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    lease_by: Mapped[str | None] = mapped_column(sa.String(120), nullable=True)


class OutboxDelivery(Base):
    """An event a subscriber has not taken yet: failed and retried (or waiting behind one of its record), or dead."""

    __tablename__ = "kernel_outbox_deliveries"
    __table_args__ = (
        sa.UniqueConstraint("subscriber", "event"),
        sa.Index("ix_kernel_outbox_deliveries_event", "event"),
        sa.Index("ix_kernel_outbox_deliveries_status", "status", "subscriber", "event"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    subscriber: Mapped[str] = mapped_column(sa.String(80), nullable=False)
    event: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)  # kernel_audit.id
    status: Mapped[str] = mapped_column(sa.String(10), nullable=False)  # "retry" or "dead"
    attempts: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    next_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    error: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


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


class DashboardLayout(Base):
    """The widgets an admin chose for one role's dashboard, in order (see :mod:`kernel.layouts`)."""

    __tablename__ = "kernel_dashboard_layouts"
    role: Mapped[str] = mapped_column(sa.String(60), sa.ForeignKey("kernel_roles.name", onupdate="CASCADE", ondelete="CASCADE"), primary_key=True)
    widgets: Mapped[list[str]] = mapped_column(JSONData, nullable=False)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    changed_by: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)


class ImportJob(Base):
    """One import of a file (:mod:`kernel.importjobs`): what it was run with, and its checkpoint —
    the file's SHA-256 and the last row committed — so a killed import resumes where it stopped."""

    __tablename__ = "kernel_import_jobs"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    entity: Mapped[str] = mapped_column(sa.String(80), nullable=False)
    filename: Mapped[str] = mapped_column(sa.String(1000), nullable=False)
    file_hash: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    user_id: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)
    options: Mapped[Any] = mapped_column(JSONData, nullable=False)  # mapping, on_duplicate, skip_invalid, batch size
    status: Mapped[str] = mapped_column(sa.String(20), nullable=False, index=True)  # running, done, stopped, undone
    rows: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    last_row: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)  # the file's row number last committed
    imported: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    duplicates: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    invalid: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    issues: Mapped[Any] = mapped_column(JSONData, nullable=False)  # the first problem rows, as report lines
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class ImportedRecord(Base):
    """A record an import job created, with its row in the file: what ``crm import --undo`` removes."""

    __tablename__ = "kernel_import_records"
    job_id: Mapped[int] = mapped_column(sa.ForeignKey("kernel_import_jobs.id", ondelete="CASCADE"), primary_key=True)
    record_id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    row: Mapped[int] = mapped_column(sa.Integer, nullable=False)


class ImportMapping(Base):
    """A column mapping saved by name for an entity (``crm import --save-map NAME`` / ``--use-map NAME``)."""

    __tablename__ = "kernel_import_mappings"
    entity: Mapped[str] = mapped_column(sa.String(80), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    mapping: Mapped[Any] = mapped_column(JSONData, nullable=False)  # header → field key, or null to leave the column out
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class OptionListDef(Base):
    """An option list an admin created, or the admin's changes to one a plugin declares (see :mod:`kernel.optionlists`)."""

    __tablename__ = "kernel_option_lists"
    name: Mapped[str] = mapped_column(sa.String(80), primary_key=True)
    label: Mapped[dict[str, str]] = mapped_column(JSONData, nullable=False)
    tree: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class OptionDef(Base):
    """One option of an option list as stored: its code (what records hold), labels, order, colour,
    parent (a tree) and whether it is archived, waits for an admin's review, or was merged into another."""

    __tablename__ = "kernel_options"
    __table_args__ = (sa.UniqueConstraint("list_name", "code"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    list_name: Mapped[str] = mapped_column(sa.String(80), nullable=False)
    code: Mapped[str] = mapped_column(sa.String(40), nullable=False)
    label: Mapped[dict[str, str]] = mapped_column(JSONData, nullable=False)
    position: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    colour: Mapped[str | None] = mapped_column(sa.String(7), nullable=True)
    parent: Mapped[str | None] = mapped_column(sa.String(40), nullable=True)
    archived: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    review: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    merged_into: Mapped[str | None] = mapped_column(sa.String(40), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class UploadPart(Base):
    """One megabyte of an uploaded file (:class:`Upload`), in order: a large import file is written and
    read a part at a time, never held whole (see :mod:`kernel.uploadparts`)."""

    __tablename__ = "kernel_upload_parts"
    upload_id: Mapped[int] = mapped_column(sa.ForeignKey("kernel_uploads.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    data: Mapped[bytes] = mapped_column(sa.LargeBinary, nullable=False)
