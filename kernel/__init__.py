"""PlugCRM's kernel: the public surface for plugin authors.

Everything a plugin needs is importable from here; the submodules are the
kernel's own business and may change.
"""

from .clock import Clock, FrozenClock, SystemClock
from .dashboards import Widget
from .db import Base, JSONData, RecordMixin, UTCDateTime
from .entities import Action, Entity
from .errors import ConfigError, Conflict, CRMError, Forbidden, NotFound, PluginError, RecordError, ValidationError, Vetoed
from .hookspecs import hookimpl, hookspec
from .jobs import Job
from .parsing import optional_id, parse_date, parse_datetime, parse_decimal, parse_id, parse_int
from .records import Actor, Page
from .settings import Settings, load_settings
from .site import Site

__all__ = [
    "Action",
    "Actor",
    "Base",
    "CRMError",
    "Clock",
    "ConfigError",
    "Conflict",
    "Entity",
    "Forbidden",
    "FrozenClock",
    "JSONData",
    "Job",
    "NotFound",
    "Page",
    "PluginError",
    "RecordError",
    "RecordMixin",
    "Settings",
    "Site",
    "SystemClock",
    "UTCDateTime",
    "ValidationError",
    "Vetoed",
    "Widget",
    "hookimpl",
    "hookspec",
    "load_settings",
    "optional_id",
    "parse_date",
    "parse_datetime",
    "parse_decimal",
    "parse_id",
    "parse_int",
]
