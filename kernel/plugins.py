"""Finding, ordering and loading plugins.

A plugin is a module with ``NAME``, optional ``REQUIRES`` and ``@hookimpl``
functions; a plugin that offers hooks of its own to other plugins points
``HOOKSPECS`` at the module (or class) holding their ``@hookspec`` stubs. Built-in and third-party plugins alike are found through the
entry-point group ``crm.plugins``; the kernel's own defaults are the one
essential plugin, ``core``, which cannot be disabled.

:func:`make_plugin_manager` is a factory: every site (and every refresh of a
site's view after a plugin was enabled or disabled) gets a manager of its own.
"""

from __future__ import annotations

import graphlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from types import ModuleType
from typing import Any

import jsonschema
import pluggy

from . import hookspecs
from .errors import ConfigError, PluginError

ENTRY_POINT_GROUP = "crm.plugins"
ESSENTIAL = "core"


@dataclass(frozen=True)
class PluginInfo:
    """A plugin the kernel knows of, enabled or not."""

    name: str
    module: ModuleType | Any
    requires: tuple[str, ...] = ()
    essential: bool = False

    @classmethod
    def from_module(cls, module: ModuleType | Any, *, essential: bool = False) -> "PluginInfo":
        name = getattr(module, "NAME", None)
        if not isinstance(name, str) or not name:
            raise PluginError(f"plugin module {getattr(module, '__name__', module)!r} has no NAME")
        return cls(name, module, tuple(getattr(module, "REQUIRES", ())), essential)


def installed_plugins(extra: Iterable[ModuleType | Any] = ()) -> dict[str, PluginInfo]:
    """Every plugin that could be enabled: ``core``, the entry points, then ``extra`` modules."""
    from . import core

    found = {ESSENTIAL: PluginInfo.from_module(core, essential=True)}
    for point in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda p: p.name):
        try:
            module = point.load()
        except Exception as exc:  # a broken third-party package must not hide which one it is
            raise PluginError(f"plugin {point.name!r} ({point.value}) failed to import: {exc}") from exc
        info = PluginInfo.from_module(module)
        if info.name != point.name:
            raise PluginError(f"entry point {point.name!r} loads a plugin named {info.name!r}")
        found[info.name] = info
    for module in extra:
        info = PluginInfo.from_module(module)
        found[info.name] = info
    return found


def resolve_order(installed: Mapping[str, PluginInfo], wanted: Iterable[str], *, source: str | None = None) -> list[str]:
    """Return ``wanted`` plus ``core`` in dependency order, or raise one clear error.

    Raises :class:`ConfigError` for an unknown plugin, a requirement that is not
    among the wanted plugins, and a requirement cycle.
    """
    names = [ESSENTIAL, *(name for name in wanted if name != ESSENTIAL)]
    for name in names:
        if name not in installed:
            known = ", ".join(sorted(n for n in installed if n != ESSENTIAL)) or "none"
            raise ConfigError(f"unknown plugin {name!r} (installed: {known})", file=source, key="crm.plugins")
    graph: dict[str, set[str]] = {}
    for name in names:
        requires = set(installed[name].requires)
        missing = sorted(requires - set(names))
        if missing:
            raise ConfigError(
                f"plugin {name!r} requires {', '.join(map(repr, missing))}, which is not enabled",
                file=source,
                key="crm.plugins",
            )
        graph[name] = requires | ({ESSENTIAL} if name != ESSENTIAL else set())
    try:
        return list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as exc:
        cycle = " -> ".join(exc.args[1])
        raise ConfigError(f"plugin requirements form a cycle: {cycle}", file=source, key="crm.plugins") from None


def make_plugin_manager(plugins: Iterable[PluginInfo]) -> pluggy.PluginManager:
    """A new manager with the kernel's hook specs and ``plugins`` registered in the given order."""
    pm = pluggy.PluginManager("crm")
    pm.add_hookspecs(hookspecs)
    infos = list(plugins)
    for info in infos:  # hooks a plugin offers to others, named after it (``notes_*``)
        offered = getattr(info.module, "HOOKSPECS", None)
        if offered is not None:
            pm.add_hookspecs(offered)
    for info in infos:
        pm.register(info.module, name=info.name)
    pm.check_pending()
    return pm


def plugin_settings(
    pm: pluggy.PluginManager, configured: Mapping[str, Mapping[str, Any]], installed: Mapping[str, PluginInfo], *, source: str | None
) -> dict[str, dict[str, Any]]:
    """Validate each ``[plugins.NAME]`` table against that plugin's schema; fill defaults.

    ``pm`` must hold every installed plugin, so that settings of a plugin that is
    installed but currently disabled are checked too.
    """
    unknown = sorted(set(configured) - set(installed))
    if unknown:
        raise ConfigError("settings for a plugin that is not installed", file=source, key=f"plugins.{unknown[0]}")
    schemas = {impl.plugin_name: impl.function() for impl in pm.hook.register_settings_schema.get_hookimpls()}
    result: dict[str, dict[str, Any]] = {}
    for name in installed:
        values = dict(configured.get(name, {}))
        schema = schemas.get(name) or {"type": "object", "additionalProperties": False}
        errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(values), key=lambda e: list(e.path))
        if errors:
            error = errors[0]
            key = ".".join(["plugins", name, *map(str, error.path)])
            if error.validator == "additionalProperties":
                extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
                key, reason = f"plugins.{name}.{extra[0]}", "unknown key"
            else:
                reason = error.message
            raise ConfigError(reason, file=source, key=key)
        for prop, sub in schema.get("properties", {}).items():
            if "default" in sub:
                values.setdefault(prop, sub["default"])
        result[name] = values
    return result
