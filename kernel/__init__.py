"""PlugCRM's kernel: the public surface for plugin authors.

A plugin may import the names in ``__all__`` below, :mod:`kernel.ui` (helpers for
plugin pages), :mod:`kernel.testing` (pytest fixtures and helpers for its tests)
and the ``__all__`` of a plugin listed in its ``REQUIRES``; nothing else. The
kernel's submodules (``kernel.audit``, ``kernel.records``…) are private: they
move and change without notice, and ``tests/test_plugin_imports.py`` fails on a
plugin that imports one.

Records are read and written through ``site.records`` (a :class:`Site` is
handed to every hook): ``create``, ``create_many``, ``get``, ``list``, ``update``,
``update_many``, ``delete`` and ``delete_many`` (into the recycle bin), ``restore``, ``act``, ``history``,
``find_duplicates``, ``visible`` (the SQL condition for the rows an actor may see, for
a plugin's own queries) and ``aggregate`` (counts and sums by group under the same rules, :class:`Aggregate`). Work a user's request implies beyond their rights is a system
action: ``actor.elevated("plugin.reason")`` or ``Actor.system(job="plugin.job")``. Long work
runs as a background task: a :class:`TaskKind` from ``register_task_kinds``, queued with
:func:`enqueue_task`. The admin-edited states of an entity with a :class:`StateMachine` are
read and changed through ``site.states``.
"""

from .aggregates import Aggregate
from .audit import add_entry as add_audit_entry
from .audit import history as audit_history
from .audit import jsonable
from .children import Children
from .batches import concerned_with
from .clock import Clock, FrozenClock, SystemClock
from .dashboards import Period, Widget, aggregate_widget
from .db import Base, JSONData, Money, RecordMixin, UTCDateTime, ids_in, texts_in
from .duplicates import BATCH_ROW, Duplicate, Lookalikes
from .entities import Action, Entity, FormSection
from .errors import ConfigError, Conflict, CRMError, Forbidden, NotFound, PluginError, RecordError, ValidationError, Vetoed
from .hookspecs import hookimpl, hookspec
from .i18n import site_translations
from .jobs import Job
from .messages import N_
from .links import Link, LinkRefused
from .links import revoke as revoke_links
from .links import sign as sign_link
from .links import verify as verify_link
from .mail import MailError
from .mail import enabled as mail_enabled
from .mail import send as send_mail
from .money import MINOR_UNITS, format_money, minor_digits, money_text, parse_money, quantize, sum_by_currency
from .money import add as add_money
from .money import multiply as multiply_money
from .money import subtract as subtract_money
from .notifications import notify, notify_many
from .ownership import OwnerChange
from .optionlists import Option, OptionList, convert_free_text
from .outbox import Event
from .ownership import events_of as ownership_events
from .parsing import optional_id, parse_date, parse_datetime, parse_decimal, parse_id, parse_int, read_json_object
from .permissions import allowed, record_scope
from .phones import display as phone_display
from .phones import e164_or_none as phone_e164
from .phones import region_of as phone_region
from .phones import to_e164 as phone_to_e164
from .ratelimits import rate_limit
from .records import Actor, Page
from .sequences import NumberSequence
from .settings import Settings, load_settings
from .site import Site
from .tasks import TaskCancelled, TaskContext, TaskKind, TaskLost
from .tasks import enqueue as enqueue_task
from .timers import DueTimer, Timer
from .masking import Mask
from .timers import arm as arm_timers
from .timers import armed as armed_timers
from .timers import clear as clear_timers
from .timers import move as move_timers
from .timers import rearm as rearm_timers
from .states import State, StateMachine
from .states import events_of as state_events
from .targets import targets_vs_actuals
from .preferences import user_locale, user_locales
from .timezones import day_start, local_date, site_zone, user_zone
from .timezones import today as local_today


def never_reuse_ids(tables: dict[str, str]) -> None:
    """For a plugin's migration: rebuild its record tables so that SQLite never hands a deleted
    record's id to a new one (``AUTOINCREMENT``); nothing to do on PostgreSQL.

    ``tables`` maps table name → entity name: ``never_reuse_ids({"notes_notes": "notes"})``.
    Record tables created from :class:`RecordMixin` already have it; this is for tables a
    plugin created before.
    """
    from .migrations.ids import never_reuse_ids as rebuild

    rebuild(tables)


def export_table(site: "Site", actor: "Actor", name: str, fmt: str, headers: "Sequence[str]", rows: "Sequence[Sequence[Any]]", *, details: "dict[str, Any] | None" = None) -> "Any":
    """A plugin's own table (a report) as a CSV or XLSX download, audited like a record export:
    ``.chunks()``, ``.write(path)``, ``.media_type``, ``.filename``. See :func:`kernel.exporting.export_table`
    (loaded here only when used: it needs openpyxl)."""
    from .exporting import export_table as build

    return build(site, actor, name, fmt, headers, rows, details=details)


def state_events_table() -> "sqlalchemy.Table":  # noqa: F821 - a name for readers
    """The SQLAlchemy table of state events (``kernel_state_events``, see :mod:`kernel.states`), for a
    plugin's own queries over them (a funnel, time in stage), read-only: one row per transition with
    ``entity``, ``record_id``, ``set_key``, ``from_state``, ``to_state``, ``kind``, ``actor_id``,
    ``actor``, ``at``, ``seconds`` and ``snapshot``; indexed by (``entity``, ``record_id``, ``id``)
    and (``entity``, ``set_key``, ``to_state``, ``at``)."""
    from .states import EVENTS

    return EVENTS

__all__ = [
    "Action",
    "Actor",
    "add_audit_entry",
    "add_money",
    "Aggregate",
    "aggregate_widget",
    "allowed",
    "arm_timers",
    "armed_timers",
    "audit_history",
    "Base",
    "BATCH_ROW",
    "Children",
    "clear_timers",
    "concerned_with",
    "Clock",
    "ConfigError",
    "Conflict",
    "convert_free_text",
    "CRMError",
    "day_start",
    "DueTimer",
    "Duplicate",
    "enqueue_task",
    "Entity",
    "Event",
    "export_table",
    "Forbidden",
    "format_money",
    "FormSection",
    "FrozenClock",
    "hookimpl",
    "hookspec",
    "ids_in",
    "Job",
    "jsonable",
    "JSONData",
    "Link",
    "LinkRefused",
    "load_settings",
    "local_date",
    "local_today",
    "Lookalikes",
    "mail_enabled",
    "Mask",
    "MailError",
    "minor_digits",
    "MINOR_UNITS",
    "Money",
    "money_text",
    "move_timers",
    "multiply_money",
    "N_",
    "never_reuse_ids",
    "NotFound",
    "notify",
    "notify_many",
    "NumberSequence",
    "optional_id",
    "Option",
    "OptionList",
    "OwnerChange",
    "ownership_events",
    "Page",
    "parse_date",
    "parse_datetime",
    "parse_decimal",
    "parse_id",
    "parse_int",
    "parse_money",
    "Period",
    "phone_display",
    "phone_e164",
    "phone_region",
    "phone_to_e164",
    "PluginError",
    "quantize",
    "rate_limit",
    "read_json_object",
    "rearm_timers",
    "record_scope",
    "RecordError",
    "RecordMixin",
    "revoke_links",
    "send_mail",
    "Settings",
    "sign_link",
    "Site",
    "site_translations",
    "site_zone",
    "State",
    "state_events",
    "state_events_table",
    "StateMachine",
    "subtract_money",
    "sum_by_currency",
    "SystemClock",
    "targets_vs_actuals",
    "TaskCancelled",
    "TaskContext",
    "TaskKind",
    "TaskLost",
    "texts_in",
    "Timer",
    "user_locale",
    "user_locales",
    "user_zone",
    "UTCDateTime",
    "ValidationError",
    "verify_link",
    "Vetoed",
    "Widget",
]
