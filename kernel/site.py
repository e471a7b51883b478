"""A site: one database, its settings, its plugins and its clock.

:class:`Site` is what the CLI, the web app and the job runner share. Its
:attr:`Site.view` is an immutable snapshot of which plugins are enabled, which
entities and custom fields exist, and the plugin manager for exactly those
plugins. Changes made by any process bump a version row; every process checks
that row at most every ``refresh_seconds`` and swaps in a fresh view, so a
plugin toggle or a new field is seen everywhere within seconds, without a restart.
"""

from __future__ import annotations

import dataclasses

import logging
import threading
import time
from collections.abc import Callable, Hashable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pluggy
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from .clock import Clock, SystemClock
from .customfields import CustomField, FieldSet
from .db import make_engine, write_transaction
from .children import check_children
from .entities import Entity, check_entity
from .sequences import check_shared
from .timers import Timer, check_timers
from .errors import Conflict, CRMError, PluginError
from .jobs import Job
from .models import CustomFieldDef, PluginState, Version
from . import masking, optionlists, outbox, systemsettings
from .masking import Mask
from .plugins import ESSENTIAL, PluginInfo, installed_plugins, make_plugin_manager, plugin_settings, resolve_order
from .passwords import default_hasher
from .records import Records
from .settings import Settings
from .statesets import StateSets

log = logging.getLogger(__name__)
REGISTRY = "registry"


class NotInitialized(CRMError):
    """The database has no kernel tables yet."""

    def __init__(self, url: str):
        super().__init__(f"database {url} is not initialized; run 'crm init' (or 'crm db upgrade')")


#: PostgreSQL's deadlock_detected and serialization_failure: retrying the same transaction succeeds.
CLASH_STATES = frozenset({"40P01", "40001"})


class WriteClash(Conflict):
    """409: another change to the same rows ran at the same time; nothing was written, send it again."""

    retry_after = 1

    def __init__(self) -> None:
        super().__init__("another change to the same records ran at the same time; nothing was written, send it again")


class DatabaseUnavailable(CRMError):
    """The database cannot be reached or used; the message says which and why."""


@dataclass(frozen=True)
class View:
    """What is enabled right now, as of registry ``version``."""

    version: int
    enabled: tuple[str, ...]
    pm: pluggy.PluginManager
    entities: dict[str, Entity]
    jobs: dict[str, Job]
    custom_fields: dict[str, FieldSet] = field(default_factory=dict)
    settings: Settings | None = None  # crm.toml with the admin's run-time changes (kernel.systemsettings)
    plugin_settings: dict[str, dict[str, Any]] = field(default_factory=dict)  # likewise, per plugin
    timers: dict[str, tuple[Timer, ...]] = field(default_factory=dict)  # per entity (kernel.timers)
    option_lists: dict[str, Any] = field(default_factory=dict)  # name → OptionList (kernel.optionlists)
    masks: dict[str, tuple[Mask, ...]] = field(default_factory=dict)  # per entity (kernel.masking)

    def fields(self, entity: str) -> FieldSet:
        found = self.custom_fields.get(entity)
        return found if found is not None else FieldSet(entity, [])

    def entity(self, name: str) -> Entity | None:
        return self.entities.get(name)


def _declared_timers(pm: pluggy.PluginManager) -> list[Timer]:
    """Every plugin's ``register_timers`` answer, each timer marked with the plugin that declared it."""
    found = []
    for impl in reversed(pm.hook.register_timers.get_hookimpls()):
        for timer in impl.function() or ():
            object.__setattr__(timer, "plugin", impl.plugin_name)
            found.append(timer)
    return found


class Site:
    """One deployment's database and plugins. Build one per process (or per test)."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        extra_plugins: Iterable[Any] = (),
        engine: Engine | None = None,
    ):
        self.file_settings = settings  # crm.toml and env; ``settings`` adds the run-time changes
        self._view: View | None = None
        self.clock: Clock = clock or SystemClock()
        self.installed: dict[str, PluginInfo] = installed_plugins(extra_plugins)
        default = settings.plugins if settings.plugins is not None else [n for n in self.installed if n != ESSENTIAL]
        self.default_enabled = tuple(resolve_order(self.installed, default, source=settings.config_file))
        self.plugin_settings = self._check_plugin_settings()
        self.engine = engine if engine is not None else make_engine(settings.database_url)
        outbox.attach(self.engine)
        self.records = Records(self)
        self.states = StateSets(self)
        self.passwords = default_hasher()
        self._checked = 0.0
        self._lock = threading.Lock()
        self._memo: dict[Hashable, tuple[float, Any]] = {}

    def _check_plugin_settings(self) -> dict[str, dict[str, Any]]:
        self.all_plugins = make_plugin_manager(self.installed.values())  # every installed plugin, to check settings
        return plugin_settings(self.all_plugins, self.file_settings.plugin_settings, self.installed, source=self.file_settings.config_file)

    @property
    def settings(self) -> Settings:
        """``crm.toml`` (and env) with the admin's run-time changes applied, as of the current view.

        Before the site has first read its database: the file's settings alone.
        """
        if self._view is None:
            return self.file_settings
        return self.view.settings or self.file_settings

    # -- the view ---------------------------------------------------------------------

    @property
    def view(self) -> View:
        """The current view, re-read from the database when it may be stale."""
        if self._view is None or time.monotonic() - self._checked >= self.file_settings.refresh_seconds:
            self.refresh()
        assert self._view is not None
        return self._view

    def refresh(self, *, force: bool = False) -> View:
        with self._lock:
            try:
                with self.engine.connect() as conn:
                    version = conn.scalar(sa.select(Version.value).where(Version.name == REGISTRY))
                    if version is None:
                        raise NotInitialized(self.engine.url.render_as_string(hide_password=True))
                    if force or self._view is None or self._view.version != version:
                        states = {row.name: row.enabled for row in conn.execute(sa.select(PluginState))}
                        defs = conn.execute(sa.select(CustomFieldDef).where(CustomFieldDef.active.is_(True))).all()
                        overrides = systemsettings.read_overrides(conn)
                        view = self._build_view(version, states, defs, overrides)
                        self._view = dataclasses.replace(view, option_lists=optionlists.load(conn, view.pm))
            except sa.exc.DBAPIError as exc:
                raise self._explain_failure(exc) from exc
            self._checked = time.monotonic()
            return self._view

    def _explain_failure(self, exc: sa.exc.DBAPIError) -> CRMError:
        """A missing kernel table means "run crm init"; anything else means the database is unreachable."""
        url = self.engine.url.render_as_string(hide_password=True)
        try:
            initialized = sa.inspect(self.engine).has_table(Version.__tablename__)
        except sa.exc.DBAPIError as again:
            reason = str(again.orig).strip().splitlines()[0] if again.orig else type(again).__name__
            return DatabaseUnavailable(f"cannot use database {url}: {reason}")
        if not initialized:
            return NotInitialized(url)
        return DatabaseUnavailable(f"cannot use database {url}: {str(exc.orig).strip().splitlines()[0]}")

    def enabled_names(self, states: dict[str, bool]) -> list[str]:
        """The plugins to enable, given stored choices, in dependency order.

        A stored choice wins over ``crm.toml``; a plugin whose requirement is off is
        left off (and logged), so a stale choice can never stop a process.
        """
        wanted = [
            name
            for name in self.installed
            if name == ESSENTIAL or (states[name] if name in states else name in self.default_enabled)
        ]
        while True:
            blocked = [n for n in wanted if any(r not in wanted for r in self.installed[n].requires)]
            if not blocked:
                return resolve_order(self.installed, wanted)
            log.warning("plugins %s stay disabled: a requirement is disabled", ", ".join(blocked))
            wanted = [n for n in wanted if n not in blocked]

    def _build_view(self, version: int, states: dict[str, bool], defs: list[Any], overrides: dict[str, Any]) -> View:
        order = self.enabled_names(states)
        pm = make_plugin_manager(self.installed[name] for name in order)
        entities: dict[str, Entity] = {}
        for impl in reversed(pm.hook.register_entities.get_hookimpls()):  # registration order
            for entity in impl.function() or ():
                if entity.name in entities:
                    raise PluginError(f"entity {entity.name!r} is registered by two plugins")
                check_entity(entity)
                object.__setattr__(entity, "plugin", impl.plugin_name)
                entities[entity.name] = entity
        _add_actions(pm, entities)
        check_shared(entities.values())
        check_children(entities)
        jobs = {job.name: job for batch in pm.hook.register_jobs() for job in batch or ()}
        timers = check_timers(_declared_timers(pm), entities)
        grouped: dict[str, list[CustomField]] = {}
        for row in defs:
            if row.entity in entities:
                field_ = CustomField(row.entity, row.name, row.schema, row.label, row.indexed, row.version)
                grouped.setdefault(row.entity, []).append(field_)
        fieldsets = {name: FieldSet(name, fields) for name, fields in grouped.items()}
        values = {scope: {name: row.value for name, row in rows.items()} for scope, rows in overrides.items()}
        settings, plugin_config = systemsettings.effective(self, values)
        masks = masking.declared(pm, entities)
        return View(version, tuple(order), pm, entities, jobs, fieldsets, settings, plugin_config, timers, masks=masks)

    def memo(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """``compute()``, reused in this process for up to ``refresh_seconds``.

        For lookups on every request (who a bearer token belongs to): the same
        staleness every process already accepts for plugins and fields. ``None``
        is never kept, and ``refresh_seconds = 0`` (tests) keeps nothing.
        """
        ttl = self.file_settings.refresh_seconds
        if ttl <= 0:
            return compute()
        now = time.monotonic()
        kept = self._memo.get(key)
        if kept is not None and now - kept[0] < ttl:
            return kept[1]
        value = compute()
        if value is not None:
            if len(self._memo) >= 10_000:
                self._memo.clear()
            self._memo[key] = (now, value)
        return value

    def forget(self) -> None:
        """Drop every memo of this process (after a change it must see at once)."""
        self._memo.clear()

    @contextmanager
    def write(self) -> Iterator[sa.Connection]:
        """A write transaction (``with site.write() as conn:``): the one way the kernel and plugins start one.

        When the database breaks a tie between simultaneous writes (PostgreSQL's deadlock
        or serialization failure: two merges of the same records, say) the transaction
        is rolled back whole and :class:`WriteClash` (409, ``Retry-After``) says to send it again.
        """
        try:
            with write_transaction(self.engine) as conn:
                yield conn
        except sa.exc.DBAPIError as exc:
            if getattr(exc.orig, "sqlstate", None) in CLASH_STATES:
                log.info("write clash (%s), rolled back: %s", getattr(exc.orig, "sqlstate", None), exc.orig)
                raise WriteClash() from exc
            raise

    def bump(self, conn: sa.Connection) -> None:
        """Tell every process (in this transaction) that plugins or fields changed."""
        updated = conn.execute(sa.update(Version).where(Version.name == REGISTRY).values(value=Version.value + 1))
        if updated.rowcount == 0:
            conn.execute(sa.insert(Version).values(name=REGISTRY, value=1))

    def plugin_config(self, name: str) -> dict[str, Any]:
        """This deployment's validated ``[plugins.NAME]`` settings, defaults filled in, with the
        admin's run-time changes (:mod:`kernel.systemsettings`) as of the current view."""
        try:
            view = self.view
        except NotInitialized:  # no database yet, so no run-time changes either
            return self.plugin_settings.get(name, {})
        return view.plugin_settings.get(name) or self.plugin_settings.get(name, {})

    def close(self) -> None:
        self.engine.dispose()


def _add_actions(pm: pluggy.PluginManager, entities: dict[str, Entity]) -> None:
    """Give entities the actions other plugins add to them (``register_entity_actions``)."""
    for impl in reversed(pm.hook.register_entity_actions.get_hookimpls()):  # registration order
        for name, actions in (impl.function() or {}).items():
            entity = entities.get(name)
            if entity is None:
                continue  # its plugin is not enabled: nothing to add to
            taken = {a.name for a in entity.actions}
            clash = next((a.name for a in actions if a.name in taken), None)
            if clash is not None:
                raise PluginError(f"plugin {impl.plugin_name!r} adds action {clash!r} to {name!r}, which already has one of that name")
            grown = dataclasses.replace(entity, actions=(*entity.actions, *actions))
            check_entity(grown)
            entities[name] = grown
