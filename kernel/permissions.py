"""Permissions as data: what a role may do, and which records it sees.

A permission is named ``entity.action``: ``notes.read``, ``notes.close``,
``notes.assign``. For every enabled entity the kernel derives ``create``,
``read``, ``update``, ``delete``, one per entity action, and ``assign`` (give a
record to another user) when the entity has an owner field. Plugins declare
extras, or replace a derived name's default roles, through ``register_permissions``.

A grant stored on a role is a permission name; the ``read`` grant of an owned
entity may carry the role's **record scope** for that entity:
``notes.read:own`` (records it owns), ``notes.read:team`` (owned by anyone in
the user's team or a team below it, or a team the user manages, and below),
``notes.read`` or ``notes.read:all`` (every record). The scope applies to every
get, list, count, update, delete and action, in SQL. An entity that declares a
``parent`` is also readable by whoever may read its parent (:mod:`kernel.parents`).

Which grants a role has:

* ``admin`` has every permission and sees every record, whatever is stored;
* a role whose ``permissions`` is ``null`` has the declared defaults for its
  name (built-in roles start that way; a custom role's defaults are usually none);
* a role whose ``permissions`` is a list has exactly that list. Setting the list
  back to ``null`` restores the defaults.

Default grants derived by the kernel (a plugin declaration replaces them per name):

=================  ================================================  ==============
role               owned entity                                      other entity
=================  ================================================  ==============
sales_manager      everything, ``read:team``                         read
sales_rep          create, ``read:own``, update, each action         read
executive          ``read:all``                                      read
marketer           nothing                                           read
service_agent      nothing                                           read
=================  ================================================  ==============

Grants are cached per process and per registry version: a role change bumps the
version (:meth:`Site.bump`), so every process reloads them within ``refresh_seconds``.
"""

from __future__ import annotations

import re
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field

from . import parents
from .errors import PluginError
from .models import Role, Team, User

if TYPE_CHECKING:
    from .entities import Entity
    from .records import Actor
    from .site import Site, View

ADMIN = "admin"
SCOPES = ("own", "team", "all")
CRUD = ("create", "read", "update", "delete")
READERS = ("sales_manager", "sales_rep", "marketer", "service_agent", "executive")
_NAME = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Permission:
    """A declared permission and its default grants: role name → record scope (``None``: no scope)."""

    name: str
    label: dict[str, str]
    roles: dict[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Grants:
    """What one role holds. ``source`` is ``admin``, ``stored``, ``defaults`` or ``missing``."""

    role: str
    source: str
    names: frozenset[str]
    scopes: dict[str, str]  # entity → read scope

    def allows(self, permission: str) -> bool:
        return self.source == ADMIN or permission in self.names

    def scope(self, entity: str) -> str | None:
        """The record scope for ``entity``; ``None`` when the role may not read it."""
        if self.source == ADMIN:
            return "all"
        if f"{entity}.read" not in self.names:
            return None
        return self.scopes.get(entity, "all")


class Declaration(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=_NAME.pattern)
    label: dict[str, str] = Field(default_factory=dict)
    roles: list[str] = Field(default_factory=list)


def parse_grant(text: Any) -> tuple[str, str | None]:
    """``"notes.read:team"`` → ``("notes.read", "team")``; :class:`ValueError` names the mistake."""
    if not isinstance(text, str):
        raise ValueError("must be a string like 'notes.read' or 'notes.read:own'")
    name, _, scope = text.partition(":")
    if not _NAME.match(name):
        raise ValueError(f"{text!r} is not a permission name like 'notes.read'")
    if not scope:
        return name, None
    if scope not in SCOPES:
        raise ValueError(f"unknown record scope {scope!r}; use one of {', '.join(SCOPES)}")
    if not name.endswith(".read"):
        raise ValueError("only a read permission takes a record scope")
    return name, scope


# -- the registry of declared permissions -----------------------------------------------


def derived(entity: Entity) -> dict[str, Permission]:
    """The permissions the kernel gives every entity, with their default grants."""
    owned = entity.owner_field is not None
    ops = [*CRUD, *(a.name for a in entity.actions), *(["assign"] if owned else [])]
    found = {}
    for op in ops:
        action = entity.action(op)
        label = {lang: f"{entity.label_plural.get(lang, entity.name)}: {action.label.get(lang, op) if action else op}" for lang in ("en", "zh_CN")}
        found[f"{entity.name}.{op}"] = Permission(f"{entity.name}.{op}", label, _default_roles(owned, op))
    return found


def _default_roles(owned: bool, op: str) -> dict[str, str | None]:
    if not owned:
        return {role: None for role in READERS} if op == "read" else {}
    if op == "read":
        return {"sales_manager": "team", "sales_rep": "own", "executive": "all"}
    if op in ("delete", "assign"):
        return {"sales_manager": None}
    return {"sales_manager": None, "sales_rep": None}


def build_registry(view: View) -> dict[str, Permission]:
    """Every permission of the enabled plugins: derived ones, then each plugin's declarations."""
    registry: dict[str, Permission] = {}
    for entity in view.entities.values():
        registry.update(derived(entity))
    for impl in reversed(view.pm.hook.register_permissions.get_hookimpls()):
        for raw in impl.function() or ():
            try:
                declared = Declaration.model_validate(raw)
                roles = dict(_role_scope(text) for text in declared.roles)
            except (ValueError, TypeError) as exc:
                raise PluginError(f"plugin {impl.plugin_name!r} declares a bad permission {raw!r}: {exc}") from None
            label = declared.label or (registry[declared.name].label if declared.name in registry else {"en": declared.name})
            registry[declared.name] = Permission(declared.name, label, roles)
    return registry


def _role_scope(text: str) -> tuple[str, str | None]:
    role, _, scope = text.partition(":")
    if scope and scope not in SCOPES:
        raise ValueError(f"unknown record scope {scope!r} for role {role!r}")
    return role, scope or None


def check_grants(view: View, grants: Any, previous: Any = None) -> list[dict[str, Any]]:
    """Validation details for a role's ``permissions`` value (``[]`` when it is fine).

    Every entry must be well formed; entries not already stored must name a
    permission of an enabled plugin (a disabled plugin's grants may stay).
    """
    if grants is None:
        return []
    known = registry(view)
    kept = set(previous or ())
    details = []
    for index, text in enumerate(grants):
        try:
            name, _ = parse_grant(text)
        except ValueError as exc:
            details.append({"loc": ["permissions", index], "msg": str(exc)})
            continue
        if text not in kept and name not in known:
            details.append({"loc": ["permissions", index], "msg": f"unknown permission {name!r}"})
    return details


# -- per-process cache ------------------------------------------------------------------


@dataclass
class _Cache:
    version: int
    registry: dict[str, Permission]
    roles: dict[str, Grants]
    #: record-scope conditions by (user id, entity, scope): built once, bound anew by each statement
    conditions: dict[tuple[Any, str, str], sa.ColumnElement[bool]] = field(default_factory=dict)


_caches: weakref.WeakKeyDictionary[Any, _Cache] = weakref.WeakKeyDictionary()
_registries: dict[int, tuple[Any, dict[str, Permission]]] = {}


def registry(view: View) -> dict[str, Permission]:
    """The registry for ``view``, built once per view."""
    cached = _registries.get(id(view))
    if cached is None or cached[0] is not view:
        _registries.clear()  # only the current view's registry is worth keeping
        cached = (view, build_registry(view))
        _registries[id(view)] = cached
    return cached[1]


def _cache(site: Site) -> _Cache:
    view = site.view
    cache = _caches.get(site)
    if cache is None or cache.version != view.version:
        known = registry(view)
        with site.engine.connect() as conn:
            rows = conn.execute(sa.select(Role.name, Role.permissions)).all()
        cache = _Cache(view.version, known, {name: _grants(name, stored, known) for name, stored in rows})
        _caches[site] = cache
    return cache


def _grants(role: str, stored: list[str] | None, known: dict[str, Permission]) -> Grants:
    if role == ADMIN:
        return Grants(role, ADMIN, frozenset(known), {})
    if stored is None:
        pairs = [(p.name, scope) for p in known.values() for r, scope in p.roles.items() if r == role]
        source = "defaults"
    else:
        pairs = []
        for text in stored:
            try:
                pairs.append(parse_grant(text))
            except ValueError:
                continue  # refused on write; an old bad value grants nothing
        source = "stored"
    scopes = {name.removesuffix(".read"): scope for name, scope in pairs if scope is not None}
    return Grants(role, source, frozenset(name for name, _ in pairs), scopes)


def grants(site: Site, role: str | None) -> Grants:
    """The grants of ``role`` as of the site's current registry version."""
    found = _cache(site).roles.get(role or "")
    return found if found is not None else Grants(role or "", "missing", frozenset(), {})


def is_admin(actor: Actor) -> bool:
    return actor.role == ADMIN


def allowed(site: Site, actor: Actor, entity: str, action: str) -> bool:
    """Whether ``actor``'s role holds the permission ``entity.action`` (``notes.close``, say).

    The role check only: which records ``actor`` may see is ``site.records.visible``.
    """
    name = f"{entity}.{action}"
    return is_admin(actor) or name in actor.grants or grants(site, actor.role).allows(name)


def record_scope(site: Site, actor: Actor, entity: str) -> str | None:
    """``actor``'s record scope for ``entity``: ``"own"``, ``"team"``, ``"all"``, or ``None`` (may not read it)."""
    return grants(site, actor.role).scope(entity)


# -- record rules -----------------------------------------------------------------------


def team_members(actor: Actor, name: str = "team_tree") -> sa.Select[Any]:
    """Ids of the users in the actor's team, in teams the actor manages, and in every team below them.

    ``name`` names the recursive CTE: one statement holding two of them (a child's scope
    and its parent's) needs two names."""
    teams, users = Team.__table__, User.__table__
    roots = sa.select(teams.c.id).where(
        sa.or_(teams.c.id.in_(sa.select(users.c.team_id).where(users.c.id == actor.user_id)), teams.c.manager_id == actor.user_id)
    )
    tree = roots.cte(name, recursive=True)
    below = teams.alias("below")
    tree = tree.union(sa.select(below.c.id).where(below.c.parent_id == tree.c.id))
    return sa.select(users.c.id).where(users.c.team_id.in_(sa.select(tree.c.id)))


def scope_condition(actor: Actor, entity: Entity, scope: str) -> sa.ColumnElement[bool] | None:
    """The SQL condition for a record scope; ``None`` for ``all``."""
    if scope == "all":
        return None
    if actor.user_id is None:
        return sa.false()
    owner = entity.table.c[entity.owner_field or ""]
    if scope == "own":
        return owner == actor.user_id
    return sa.or_(owner == actor.user_id, owner.in_(team_members(actor, f"team_tree_{entity.name}")))


def plugin_rules(site: Site, actor: Actor, entity: Entity) -> list[tuple[str, sa.ColumnElement[bool]]]:
    """Each plugin's ``record_rules`` answer, with the plugin's name."""
    args = {"site": site, "actor": actor, "entity": entity.name, "table": entity.table}
    found = []
    for impl in site.view.pm.hook.record_rules.get_hookimpls():
        condition = impl.function(**{name: args[name] for name in impl.argnames})
        if condition is not None:
            found.append((impl.plugin_name, condition))
    return found


def record_condition(site: Site, actor: Actor, entity_name: str) -> sa.ColumnElement[bool] | None:
    """The kernel's record rule: the role's scope OR any plugin rule; ``None`` when all rows are visible."""
    if is_admin(actor):
        return None
    entity = site.view.entity(entity_name)
    if entity is None:
        return None
    scope = grants(site, actor.role).scope(entity.name)
    if scope is None:
        return sa.false()
    if entity.owner_field is None:
        if not entity.parents:
            return None
        if parents.resolving(entity.name):
            return sa.false()
        return sa.or_(parents.unset(entity), parents.condition(site, actor, entity))
    if scope == "all":
        return None
    own = sa.or_(_reused_scope_condition(site, actor, entity, scope), *(c for _, c in plugin_rules(site, actor, entity)))
    if not entity.parents or parents.is_writing() or parents.resolving(entity.name):
        return own
    return sa.or_(own, parents.condition(site, actor, entity))


def _reused_scope_condition(site: Site, actor: Actor, entity: Entity, scope: str) -> sa.ColumnElement[bool]:
    """:func:`scope_condition`, kept per registry version: building the team query costs more than running it."""
    conditions = _cache(site).conditions
    key = (actor.user_id, entity.name, scope)
    found = conditions.get(key)
    if found is None:
        if len(conditions) >= 10_000:
            conditions.clear()
        found = conditions[key] = scope_condition(actor, entity, scope)
    return found


# -- explaining a decision --------------------------------------------------------------


def _each(hook: Any, **kwargs: Any) -> list[tuple[str, Any]]:
    """Every implementation's answer to ``hook``, with its plugin's name."""
    return [(impl.plugin_name, impl.function(**{n: kwargs[n] for n in impl.argnames})) for impl in hook.get_hookimpls()]


def explain(site: Site, actor: Actor, entity: Entity, record_id: int) -> dict[str, Any]:
    """Why ``actor`` can or cannot see, change and act on one record: role, permission, rules."""
    hook = site.view.pm.hook
    table = entity.table
    role = grants(site, actor.role)
    scope = role.scope(entity.name)

    def matches(*conditions: sa.ColumnElement[bool]) -> bool:
        with site.engine.connect() as conn:
            return conn.scalar(sa.select(table.c.id).where(table.c.id == record_id, *conditions)) is not None

    rules: list[dict[str, Any]] = []
    if scope is None:
        rules.append({"plugin": "core", "rule": "scope", "combine": "and", "matched": False, "detail": f"no {entity.name}.read"})
    elif entity.owner_field is None and entity.parents:
        unset = matches(parents.unset(entity))
        rules.append({"plugin": "core", "rule": "scope", "combine": "or", "matched": unset, "detail": "no parent"})
    elif entity.owner_field is None or scope == "all":
        rules.append({"plugin": "core", "rule": "scope", "combine": "and", "matched": True, "detail": "all"})
    else:
        condition = scope_condition(actor, entity, scope)
        rules.append({"plugin": "core", "rule": "scope", "combine": "or", "matched": matches(condition), "detail": scope})
        for plugin, condition in plugin_rules(site, actor, entity):
            rules.append({"plugin": plugin, "rule": "record_rules", "combine": "or", "matched": matches(condition), "detail": None})
    if scope is not None and entity.parents and not is_admin(actor) and not (entity.owner_field and scope == "all"):
        through = matches(parents.condition(site, actor, entity))
        rules.append({"plugin": "core", "rule": "parent", "combine": "or", "matched": through, "detail": _parent_detail(entity), "read_only": bool(entity.owner_field)})
    for plugin, condition in _each(hook.record_filter, site=site, actor=actor, entity=entity.name, table=table):
        if plugin != "core" and condition is not None:
            rules.append({"plugin": plugin, "rule": "record_filter", "combine": "and", "matched": matches(condition), "detail": None})
    conditions = [c for c in hook.record_filter(site=site, actor=actor, entity=entity.name, table=table) if c is not None]
    visible = matches(*conditions)
    with parents.writing():
        writing = [c for c in hook.record_filter(site=site, actor=actor, entity=entity.name, table=table) if c is not None]
    writable = matches(*writing)
    with site.engine.connect() as conn:
        record = dict(conn.execute(sa.select(table).where(table.c.id == record_id)).one()._mapping)
    operations = ["read", "update", "delete", *(a.name for a in entity.actions)]
    actions = {}
    for op in operations:
        name = f"{entity.name}.{op}"
        answers = _each(hook.authorize, site=site, actor=actor, entity=entity.name, action=op, record=record)
        refused_by = [plugin for plugin, answer in answers if answer is False]
        found = visible if op == "read" else writable
        allowed_ = found and not refused_by
        actions[op] = {
            "permission": name,
            "granted": role.allows(name),
            "allowed": allowed_,
            "refused_by": refused_by,
            "reason": _reason(role, name, scope, found, refused_by, rules if op == "read" else _own(rules), visible),
        }
    return {
        "role": {"name": role.role, "grants": role.source},
        "scope": scope,
        "visible": visible,
        "rules": rules,
        "actions": actions,
    }


def _parent_detail(entity: Entity) -> str:
    return ", ".join(f"{ref.entity_column}, {ref.column}" if ref.entity is None else f"{ref.column} → {ref.entity}" for ref in entity.parents)


def _own(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rules a write goes by: a parent widens reading only."""
    return [r for r in rules if not (r["rule"] == "parent" and r.get("read_only"))]


def _reason(
    role: Grants, name: str, scope: str | None, visible: bool, refused_by: list[str], rules: list[dict[str, Any]], readable: bool
) -> str:
    if role.source == ADMIN:
        return "the admin role has every permission and sees every record"
    if not role.allows(name):
        return f"role {role.role!r} ({role.source} grants) does not hold {name}"
    if not visible:
        hidden_by = [r["plugin"] for r in rules if r["rule"] == "record_filter" and not r["matched"]]
        if scope is None:
            return f"role {role.role!r} may not read these records, so none is found"
        if hidden_by:
            return f"hidden by the record_filter of {', '.join(hidden_by)}"
        if readable:
            return f"outside role {role.role!r}'s record scope {scope!r}: visible through its parent, which lets it be read, not changed"
        if any(r["rule"] == "parent" for r in rules):
            return f"outside role {role.role!r}'s record scope {scope!r}, no plugin rule matched, and its parent is not visible"
        return f"outside role {role.role!r}'s record scope {scope!r}, and no plugin rule matched"
    if refused_by:
        return f"refused by {', '.join(refused_by)}"
    matched = next((r for r in rules if r["matched"] and r["combine"] == "or"), None)
    if matched and matched["rule"] == "parent":
        return f"role {role.role!r} ({role.source} grants) holds {name}; the record is visible through its parent ({matched['detail']})"
    via = f"{matched['rule']} {matched['detail'] or matched['plugin']}" if matched else f"scope {scope}"
    return f"role {role.role!r} ({role.source} grants) holds {name}; the record is visible through {via}"
