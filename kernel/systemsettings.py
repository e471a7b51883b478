"""Settings an admin changes at run time, without editing ``crm.toml``.

A setting's effective value is, from weakest to strongest: the built-in
default (the ``Settings`` dataclass, or the ``default`` in a plugin's settings
schema), then ``crm.toml``, then an admin's change stored in ``kernel_settings``
(scope ``crm`` for the kernel, the plugin's name for a plugin's settings).

A change is checked by the very code that checks ``crm.toml`` at start-up
(:func:`kernel.settings.parse_settings` for ``[crm]``,
:func:`kernel.plugins.plugin_settings` for ``[plugins.NAME]``), then written in
one transaction with its audit entry (entity ``settings``) and a registry bump,
so every process applies it within ``refresh_seconds``: ``site.settings`` and
``site.plugin_config(NAME)`` return the effective values of the site's current view.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from . import audit
from .errors import ConfigError, NotFound, ValidationError
from .models import SystemSetting, User
from .plugins import plugin_settings
from .settings import LOCALES, Settings, parse_settings

if TYPE_CHECKING:
    from .records import Actor
    from .site import Site

log = logging.getLogger(__name__)
TABLE = SystemSetting.__table__
CRM = "crm"
DEFAULTS = Settings()

#: The ``[crm]`` keys an admin may change at run time, as JSON Schema (for forms and the API).
CRM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "org_name": {
            "type": "string",
            "maxLength": 120,
            "default": "",
            "x-label": {"en": "Organisation name", "zh_CN": "组织名称"},
            "x-description": {"en": "Shown in the top bar and the browser's title.", "zh_CN": "显示在顶栏和浏览器标题中。"},
        },
        "default_locale": {
            "type": "string",
            "enum": list(LOCALES),
            "default": "zh_CN",
            "x-label": {"en": "Default language", "zh_CN": "默认语言"},
            "x-description": {"en": "For people who have not picked a language.", "zh_CN": "用于尚未选择语言的用户。"},
            "x-labels": {"zh_CN": {"en": "简体中文", "zh_CN": "简体中文"}, "en": {"en": "English", "zh_CN": "English"}},
        },
        "trash_days": {
            "type": "integer",
            "minimum": 1,
            "maximum": 36500,
            "default": 30,
            "x-label": {"en": "Days in the recycle bin", "zh_CN": "回收站保留天数"},
            "x-description": {
                "en": "Deleted records can be restored for this many days, then they are purged for good.",
                "zh_CN": "删除的记录在此天数内可以恢复，之后将被永久清除。",
            },
        },
        "time_zone": {
            "type": "string",
            "maxLength": 64,
            "default": "Asia/Shanghai",
            "x-label": {"en": "Time zone", "zh_CN": "时区"},
            "x-description": {
                "en": "An IANA name such as Asia/Shanghai: days, months and \"today\" are counted in it; users may pick their own.",
                "zh_CN": "IANA 时区名，如 Asia/Shanghai：日、月及“今天”按此时区计算；用户可另选自己的时区。",
            },
        },
        "phone_region": {
            "type": "string",
            "pattern": "^[A-Z]{2}$",
            "default": "CN",
            "x-label": {"en": "Phone region", "zh_CN": "电话号码默认地区"},
            "x-description": {
                "en": "Two-letter region code (CN, HK, US, GB…): numbers typed without +country code are read as this region's and shown in its national format.",
                "zh_CN": "两位地区代码（CN、HK、US、GB…）：未带 +国家码 的号码按此地区识别，并以该地区的国内格式显示。",
            },
        },
    },
    "additionalProperties": False,
}

Overrides = dict[str, dict[str, Any]]  # scope -> name -> value


@dataclass(frozen=True)
class Stored:
    """One row of ``kernel_settings``."""

    value: Any
    changed_at: datetime
    changed_by: int | None


def read_overrides(conn: sa.Connection) -> dict[str, dict[str, Stored]]:
    """Every run-time change, by scope. None on a database whose migrations have not
    created the table yet (``crm db upgrade`` must be able to read the view to run)."""
    found: dict[str, dict[str, Stored]] = {}
    if not sa.inspect(conn).has_table(TABLE.name):
        return found
    for row in conn.execute(sa.select(TABLE)):
        found.setdefault(row.scope, {})[row.name] = Stored(row.value, row.changed_at, row.changed_by)
    return found


# -- checking: the same code that checks crm.toml ----------------------------------------------


def _file_table(site: Site, scope: str) -> dict[str, Any]:
    """What ``crm.toml`` says for ``scope`` (without defaults)."""
    if scope == CRM:
        file = site.file_settings
        return {name: getattr(file, name) for name in CRM_SCHEMA["properties"] if name in file.crm_keys or getattr(file, name) != getattr(DEFAULTS, name)}
    return dict(site.file_settings.plugin_settings.get(scope, {}))


def check(site: Site, scope: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` (file values plus changes) checked as ``crm.toml`` would be; defaults filled in.

    Raises :class:`ValidationError` whose detail ``loc`` is ``[name]``.
    """
    try:
        if scope == CRM:
            checked = parse_settings({"crm": dict(values)})
            return {name: getattr(checked, name) for name in CRM_SCHEMA["properties"]}
        info = site.installed[scope]
        return plugin_settings(site.all_plugins, {scope: dict(values)}, {scope: info}, source=None)[scope]
    except ConfigError as exc:
        parts = (exc.key or "").split(".")
        loc = parts[1:2] if scope == CRM else parts[2:]
        raise ValidationError.at(loc or [scope], exc.reason) from None


def effective(site: Site, overrides: Overrides) -> tuple[Settings, dict[str, dict[str, Any]]]:
    """The site's settings and every plugin's settings with ``overrides`` applied.

    A stored value that no longer passes (a plugin's schema changed) is ignored
    and logged, so a stale choice can never stop a process.
    """
    settings = site.file_settings
    crm = overrides.get(CRM, {})
    if crm:
        try:
            checked = check(site, CRM, {**_file_table(site, CRM), **crm})
            settings = settings.replace(**{name: checked[name] for name in crm if name in checked})
        except ValidationError as exc:
            log.warning("run-time settings of [crm] ignored: %s", exc.message)
    plugins = dict(site.plugin_settings)
    for scope, values in overrides.items():
        if scope == CRM or scope not in site.installed or not values:
            continue
        try:
            plugins[scope] = check(site, scope, {**_file_table(site, scope), **values})
        except ValidationError as exc:
            log.warning("run-time settings of plugin %s ignored: %s", scope, exc.message)
    return settings, plugins


# -- describing ------------------------------------------------------------------------------


def schema_of(site: Site, scope: str) -> dict[str, Any]:
    """The JSON Schema of ``scope``'s settings; :class:`NotFound` unless it is ``crm`` or an enabled plugin."""
    if scope == CRM:
        return CRM_SCHEMA
    view = site.view
    if scope not in view.enabled:
        raise NotFound(f"no enabled plugin named {scope!r}", [{"loc": ["scope"], "msg": "unknown or disabled plugin"}])
    for impl in view.pm.hook.register_settings_schema.get_hookimpls():
        if impl.plugin_name == scope:
            return impl.function() or {"type": "object", "properties": {}}
    return {"type": "object", "properties": {}}


def scopes(site: Site) -> list[str]:
    """``crm``, then every enabled plugin that has settings, in load order."""
    view = site.view
    found = [CRM]
    for name in view.enabled:
        if name != "core" and schema_of(site, name).get("properties"):
            found.append(name)
    return found


def describe(site: Site, only: str | None = None) -> list[dict[str, Any]]:
    """Each scope with each setting: schema, effective value, file value, source and who changed it."""
    with site.engine.connect() as conn:
        stored = read_overrides(conn)
        who = {row.id: row.email for row in conn.execute(sa.select(User.id, User.email).where(User.id.in_(_changers(stored))))}
    view = site.view
    result = []
    for scope in [only] if only is not None else scopes(site):
        schema = schema_of(site, scope)
        file_table = _file_table(site, scope)
        current = view.settings if scope == CRM else None
        values = {n: getattr(current, n) for n in CRM_SCHEMA["properties"]} if current is not None else site.plugin_config(scope)
        file_values = check(site, scope, file_table) if scope != CRM else {n: getattr(site.file_settings, n) for n in CRM_SCHEMA["properties"]}
        items = []
        for name, sub in schema.get("properties", {}).items():
            if sub.get("deprecated"):  # still accepted in crm.toml, no longer offered
                continue
            row = stored.get(scope, {}).get(name)
            source = "override" if row is not None else ("file" if name in file_table else "default")
            items.append(
                {
                    "name": name,
                    "schema": sub,
                    "value": values.get(name),
                    "file_value": file_values.get(name),
                    "source": source,
                    "changed_at": row.changed_at if row is not None else None,
                    "changed_by": who.get(row.changed_by) if row is not None and row.changed_by is not None else None,
                }
            )
        result.append({"scope": scope, "settings": items})
    return result


def _same(a: Any, b: Any) -> bool:
    """Equal as JSON (so ``1`` and ``True`` differ, as they do in a schema)."""
    return audit.dumps(a) == audit.dumps(b)


def _changers(stored: dict[str, dict[str, Stored]]) -> list[int]:
    return sorted({row.changed_by for rows in stored.values() for row in rows.values() if row.changed_by is not None})


def read_only(site: Site) -> dict[str, Any]:
    """What an admin may see but not change here: the database (password masked), the key, the plugins."""
    url = sa.make_url(site.file_settings.database_url).render_as_string(hide_password=True)
    return {
        "database_url": url,
        "secret_key": "configured" if site.file_settings.secret_key else "generated",
        "config_file": site.file_settings.config_file,
        "refresh_seconds": site.file_settings.refresh_seconds,
        "installed_plugins": list(site.installed),
        "enabled_plugins": list(site.view.enabled),
    }


# -- changing --------------------------------------------------------------------------------


def change(site: Site, actor: Actor, scope: str, values: Any) -> list[dict[str, Any]]:
    """Store ``values`` (name → value; ``None`` goes back to the file's value) for ``scope``.

    Checked as a whole with the file's values and the other stored changes, as
    ``crm.toml`` would be; nothing is stored unless everything passes. One
    transaction writes the rows, one audit entry and the registry bump.
    """
    schema = schema_of(site, scope)
    if not isinstance(values, dict):
        raise ValidationError.at(["body"], "must be a JSON object of setting names and values")
    known = schema.get("properties", {})
    unknown = [name for name in values if name not in known]
    if unknown:
        details = [{"loc": [name], "msg": "unknown setting"} for name in unknown]
        raise ValidationError(f"{unknown[0]}: unknown setting for {scope}", details)
    now = site.clock.now()
    with site.write() as conn:
        stored = {name: row.value for name, row in read_overrides(conn).get(scope, {}).items()}
        before = check(site, scope, {**_file_table(site, scope), **stored})
        wanted = dict(stored)
        for name, value in values.items():
            if value is None:
                wanted.pop(name, None)
            elif not _same(value, before.get(name)):
                wanted[name] = value
        after = check(site, scope, {**_file_table(site, scope), **wanted})
        changed = [n for n in values if (n in wanted) != (n in stored) or not _same(wanted.get(n), stored.get(n))]
        if not changed:
            return describe(site, scope)
        for name in changed:
            conn.execute(sa.delete(TABLE).where(TABLE.c.scope == scope, TABLE.c.name == name))
            if name in wanted:
                conn.execute(sa.insert(TABLE).values(scope=scope, name=name, value=wanted[name], changed_at=now, changed_by=actor.user_id))
        pairs = {f"{scope}.{name}": [before.get(name), after.get(name)] for name in changed}
        audit.write(conn, [audit.entry(actor, now, "settings", None, "reset" if all(n not in wanted for n in changed) else "update", pairs)])
        site.bump(conn)
    site.refresh(force=True)
    return describe(site, scope)


def reset(site: Site, actor: Actor, scope: str, name: str) -> list[dict[str, Any]]:
    """Drop an admin's change: the setting goes back to ``crm.toml``'s value (or the default)."""
    schema = schema_of(site, scope)
    if name not in schema.get("properties", {}):
        raise NotFound(f"{scope} has no setting {name!r}", [{"loc": ["name"], "msg": "unknown setting"}])
    with site.engine.connect() as conn:
        present = conn.scalar(sa.select(sa.func.count()).select_from(TABLE).where(TABLE.c.scope == scope, TABLE.c.name == name))
    if not present:
        raise NotFound(f"{scope}.{name} has no run-time value; it already comes from the file or the default")
    return change(site, actor, scope, {name: None})
