"""PlugCRM's kernel: the public surface for plugin authors.

A plugin may import the names in ``__all__`` below, :mod:`kernel.ui` (helpers for
plugin pages), :mod:`kernel.testing` (pytest fixtures and helpers for its tests)
and the ``__all__`` of a plugin listed in its ``REQUIRES``; nothing else. The
kernel's submodules (``kernel.audit``, ``kernel.records``…) are private: they
move and change without notice, and ``tests/test_plugin_imports.py`` fails on a
plugin that imports one.

Records are read and written through ``site.records`` (a :class:`Site` is
handed to every hook): ``create``, ``create_many``, ``get``, ``list``, ``update``,
``delete``, ``act``, ``history``, ``find_duplicates``, ``visible`` (the SQL
condition for the rows an actor may see, for a plugin's own queries) and
``aggregate`` (counts and sums by group under the same rules, :class:`Aggregate`).
"""

from .aggregates import Aggregate
from .audit import add_entry as add_audit_entry
from .audit import history as audit_history
from .audit import jsonable
from .clock import Clock, FrozenClock, SystemClock
from .dashboards import Widget, aggregate_widget
from .db import Base, JSONData, Money, RecordMixin, UTCDateTime
from .duplicates import BATCH_ROW, Duplicate, Lookalikes
from .entities import Action, Entity
from .errors import ConfigError, Conflict, CRMError, Forbidden, NotFound, PluginError, RecordError, ValidationError, Vetoed
from .hookspecs import hookimpl, hookspec
from .i18n import site_translations
from .jobs import Job
from .mail import MailError
from .mail import enabled as mail_enabled
from .mail import send as send_mail
from .money import MINOR_UNITS, format_money, minor_digits, money_text, parse_money, quantize, sum_by_currency
from .money import add as add_money
from .money import multiply as multiply_money
from .money import subtract as subtract_money
from .notifications import notify
from .ownership import events_of as ownership_events
from .parsing import optional_id, parse_date, parse_datetime, parse_decimal, parse_id, parse_int
from .permissions import allowed, record_scope
from .records import Actor, Page
from .sequences import NumberSequence
from .settings import Settings, load_settings
from .site import Site
from .targets import targets_vs_actuals
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

__all__ = [
    "Action",
    "Actor",
    "add_audit_entry",
    "add_money",
    "Aggregate",
    "aggregate_widget",
    "allowed",
    "audit_history",
    "Base",
    "BATCH_ROW",
    "Clock",
    "ConfigError",
    "Conflict",
    "CRMError",
    "day_start",
    "Duplicate",
    "Entity",
    "Forbidden",
    "format_money",
    "FrozenClock",
    "hookimpl",
    "hookspec",
    "Job",
    "jsonable",
    "JSONData",
    "load_settings",
    "local_date",
    "local_today",
    "Lookalikes",
    "mail_enabled",
    "MailError",
    "minor_digits",
    "MINOR_UNITS",
    "Money",
    "money_text",
    "multiply_money",
    "never_reuse_ids",
    "NotFound",
    "notify",
    "NumberSequence",
    "optional_id",
    "ownership_events",
    "Page",
    "parse_date",
    "parse_datetime",
    "parse_decimal",
    "parse_id",
    "parse_int",
    "parse_money",
    "PluginError",
    "quantize",
    "record_scope",
    "RecordError",
    "RecordMixin",
    "send_mail",
    "Settings",
    "Site",
    "site_translations",
    "site_zone",
    "subtract_money",
    "sum_by_currency",
    "SystemClock",
    "targets_vs_actuals",
    "user_zone",
    "UTCDateTime",
    "ValidationError",
    "Vetoed",
    "Widget",
]
