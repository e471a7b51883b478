"""Enabling and disabling plugins at run time.

The choice is stored in ``kernel_plugins`` and announced through the registry
version, so every running process picks it up within ``refresh_seconds``.
Enabling runs the plugin's migrations first; disabling hides its entities,
routes and jobs and never deletes its data.
"""

from __future__ import annotations

import re

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from . import audit, migrations
from .errors import PluginError
from .models import PluginState
from .plugins import ESSENTIAL

if TYPE_CHECKING:
    from .records import Actor
    from .site import Site

STATES = PluginState.__table__


def describe_plugins(site: Site) -> list[dict[str, Any]]:
    """Every installed plugin with its state, requirements, label and description.

    ``label`` and ``descriptions`` are ``{"en": ..., "zh_CN": ...}`` dicts from the plugin
    module's ``LABEL`` and ``DESCRIPTION``; without them, the name and the first line of
    its docstring (as plain text) stand in. ``description`` is the English one.
    """
    enabled = set(site.refresh(force=True).enabled)
    rows = []
    for name, info in site.installed.items():
        rows.append(
            {
                "name": name,
                "enabled": name in enabled,
                "essential": info.essential,
                "requires": list(info.requires),
                "label": dict(getattr(info.module, "LABEL", None) or {"en": name}),
                "descriptions": dict(getattr(info.module, "DESCRIPTION", None) or {"en": plain_text(getattr(info.module, "__doc__", None))}),
            }
        )
        rows[-1]["description"] = rows[-1]["descriptions"].get("en", "")
    return rows


def plain_text(doc: str | None) -> str:
    """The first line of a docstring without reStructuredText markup (````x````, ``:role:`x```, ``*x*``)."""
    lines = (doc or "").strip().splitlines()
    text = lines[0] if lines else ""
    text = re.sub(r":[\w:]+:`([^`<]*?)(?:\s*<[^>]*>)?`", r"\1", text)
    text = re.sub(r"``([^`]*)``|`([^`]*)`_?", lambda m: m.group(1) if m.group(1) is not None else m.group(2), text)
    return re.sub(r"\*\*?([^*]+)\*\*?", r"\1", text)


def enable_plugin(site: Site, actor: Actor, name: str) -> None:
    info = site.installed.get(name)
    if info is None:
        raise PluginError(f"no plugin named {name!r} is installed")
    enabled = set(site.refresh(force=True).enabled)
    missing = [r for r in info.requires if r not in enabled]
    if missing:
        raise PluginError(f"plugin {name!r} requires {', '.join(missing)}; enable {'it' if len(missing) == 1 else 'them'} first")
    migrations.upgrade(site, [name])
    _store(site, actor, name, True)
    view = site.refresh(force=True)
    view.pm.hook.after_plugin_enabled(site=site, name=name)


def disable_plugin(site: Site, actor: Actor, name: str) -> None:
    info = site.installed.get(name)
    if info is None:
        raise PluginError(f"no plugin named {name!r} is installed")
    if info.essential or name == ESSENTIAL:
        raise PluginError(f"plugin {name!r} is part of the kernel and cannot be disabled")
    enabled = site.refresh(force=True).enabled
    dependents = [n for n in enabled if name in site.installed[n].requires]
    if dependents:
        raise PluginError(f"plugin {name!r} is required by {', '.join(dependents)}; disable {'it' if len(dependents) == 1 else 'them'} first")
    _store(site, actor, name, False)
    site.refresh(force=True)


def _store(site: Site, actor: Actor, name: str, enabled: bool) -> None:
    now = site.clock.now()
    with site.write() as conn:
        before = conn.scalar(sa.select(STATES.c.enabled).where(STATES.c.name == name))
        if before is None:
            conn.execute(sa.insert(STATES).values(name=name, enabled=enabled, changed_at=now))
        else:
            conn.execute(sa.update(STATES).where(STATES.c.name == name).values(enabled=enabled, changed_at=now))
        audit.write(conn, [audit.entry(actor, now, "plugins", None, "enable" if enabled else "disable", {"name": [name, name], "enabled": [before, enabled]})])
        site.bump(conn)
