"""Admin pages for who may do what: users, teams, roles and permissions, record rules.

Every change is a write through ``site.records`` on the ``roles``, ``users`` or
``teams`` entity — the same path as the REST API — so it is validated by the
``core`` plugin's hooks (the admin role keeps every permission, the last active
admin stays one, nobody deactivates themselves), audited, and seen by every
process within ``refresh_seconds``. Creating and editing a single user or team
uses the generic record form (``/r/users/new``, ``/r/teams/ID/edit``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import Response

from ... import audit, permissions
from ...errors import NotFound, PluginError, RecordError, ValidationError
from ...models import User
from ...parsing import optional_id
from ...permissions import ADMIN, SCOPES, Grants, Permission, parse_grant
from .context import UI, ui_for
from ...fielddescriptions import N_, FormField
from .forms import errors_by_field
from .session import check_csrf

PAGE_SIZE = 25
#: Column headings of the permission matrix; an entity's other permissions (actions, plugin extras) follow.
OPERATIONS = (("create", N_("Create")), ("update", N_("Update")), ("delete", N_("Delete")), ("assign", N_("Assign")))
SCOPE_LABELS = {"none": N_("No access"), "own": N_("Own records"), "team": N_("Team's records"), "all": N_("All records")}


def _number(text: Any) -> int | None:
    return optional_id(text)


def _message(exc: RecordError) -> str:
    """A refusal in one line: the first detail's message, or the error's own."""
    return str(exc.details[0]["msg"]) if exc.details and exc.details[0].get("msg") else exc.message


# -- users ------------------------------------------------------------------------------------


async def users_page(request: Request) -> Response:
    """``/admin/users``: search, filter by role, team and state, page; deactivate or activate."""
    ui = ui_for(request)
    actor = ui.require_admin()
    error = None
    if request.method == "POST":
        form = await request.form()
        check_csrf(request, form)
        user_id, op = _number(form.get("id")), form.get("op")
        if user_id is not None and op in ("activate", "deactivate"):
            try:
                ui.site.records.update(actor, "users", user_id, {"active": op == "activate"})
            except RecordError as exc:
                exc = ui.explain(exc, "users")
                error = _message(exc)
            else:
                return ui.redirect(f"/admin/users?{request.url.query}" if request.url.query else "/admin/users")
    params = request.query_params
    wanted = {k: params.get(k, "").strip()[:200] for k in ("q", "role", "team", "active")}
    filters: dict[str, Any] = {}
    if wanted["role"]:
        filters["role"] = wanted["role"]
    if wanted["team"] == "none":
        filters["team_id"] = "null"
    elif _number(wanted["team"]):
        filters["team_id"] = wanted["team"]
    if wanted["active"] in ("yes", "no"):
        filters["active"] = "true" if wanted["active"] == "yes" else "false"
    page_no = max(1, _number(params.get("page")) or 1)
    page = ui.site.records.list(actor, "users", filters=filters, q=wanted["q"] or None, sort="email", limit=PAGE_SIZE, offset=(page_no - 1) * PAGE_SIZE)
    roles = ui.site.records.list(actor, "roles", sort="name", limit=500).items
    teams = ui.site.records.list(actor, "teams", sort="name", limit=500).items
    query = {k: v for k, v in wanted.items() if v}
    return ui.render(
        "admin/users.html",
        status_code=409 if error else 200,
        page=page,
        page_no=page_no,
        pages=max(1, math.ceil(page.total / PAGE_SIZE)),
        wanted=wanted,
        query=query,
        roles={r["name"]: ui.label(r["label"], r["name"]) for r in roles},
        teams={t["id"]: t["name"] for t in teams},
        last_login=_last_logins(ui, [u["id"] for u in page.items]),
        error=error,
    )


def _last_logins(ui: UI, user_ids: list[int]) -> dict[int, Any]:
    """Each user's latest sign-in, from the audit log (one query for the page)."""
    if not user_ids:
        return {}
    table = audit.AUDIT
    query = (
        sa.select(table.c.record_id, sa.func.max(table.c.at))
        .where(table.c.entity == "users", table.c.action == "login", table.c.record_id.in_(user_ids))
        .group_by(table.c.record_id)
    )
    with ui.site.engine.connect() as conn:
        return {record_id: at for record_id, at in conn.execute(query)}


# -- teams ------------------------------------------------------------------------------------

MEMBERS_SHOWN = 20


async def teams_page(request: Request) -> Response:
    """``/admin/teams``: the team tree with managers and members; move a user to a team."""
    ui = ui_for(request)
    actor = ui.require_admin()
    error = None
    if request.method == "POST":
        form = await request.form()
        check_csrf(request, form)
        user_id, team = _number(form.get("user_id")), form.get("team_id", "")
        try:
            if user_id is None:
                raise ValidationError.at(["user_id"], ui.gettext("Pick a user."))
            ui.site.records.update(actor, "users", user_id, {"team_id": _number(team)})
        except RecordError as exc:
            exc = ui.explain(exc, "users")
            error = _message(exc)
        else:
            return ui.redirect("/admin/teams?moved=1")
    teams = ui.site.records.list(actor, "teams", sort="name", limit=500)
    members, counts = _members(ui, [t["id"] for t in teams.items])
    managers = {m: label for m, label in _user_labels(ui, [t["manager_id"] for t in teams.items if t["manager_id"]]).items()}
    picker = FormField("user_id", label=ui.gettext("User"), widget="reference", reference="users", required=True)
    return ui.render(
        "admin/teams.html",
        status_code=422 if error else 200,
        tree=team_tree(teams.items),
        total=teams.total,
        members=members,
        counts=counts,
        managers=managers,
        picker=picker,
        error=error,
        moved=request.query_params.get("moved"),
    )


def team_tree(teams: list[dict[str, Any]]) -> list[tuple[int, dict[str, Any]]]:
    """``(depth, team)`` in tree order: each team after its parent, children by name."""
    ids = {t["id"] for t in teams}
    children: dict[int | None, list[dict[str, Any]]] = {}
    for team in teams:
        parent = team["parent_id"] if team["parent_id"] in ids else None
        children.setdefault(parent, []).append(team)
    ordered: list[tuple[int, dict[str, Any]]] = []

    def walk(parent: int | None, depth: int) -> None:
        for team in sorted(children.get(parent, []), key=lambda t: t["name"].lower()):
            ordered.append((depth, team))
            walk(team["id"], depth + 1)

    walk(None, 0)
    return ordered


def _members(ui: UI, team_ids: list[int]) -> tuple[dict[int, list[dict[str, Any]]], dict[int, int]]:
    """The first members of each team (by name) and each team's member count, in two queries."""
    if not team_ids:
        return {}, {}
    users = User.__table__
    rank = sa.func.row_number().over(partition_by=users.c.team_id, order_by=(users.c.name, users.c.email)).label("rank")
    ranked = sa.select(users.c.id, users.c.name, users.c.email, users.c.team_id, users.c.active, rank).where(users.c.team_id.in_(team_ids)).subquery()
    first = sa.select(ranked).where(ranked.c.rank <= MEMBERS_SHOWN).order_by(ranked.c.team_id, ranked.c.rank)
    counting = sa.select(users.c.team_id, sa.func.count()).where(users.c.team_id.in_(team_ids)).group_by(users.c.team_id)
    members: dict[int, list[dict[str, Any]]] = {}
    with ui.site.engine.connect() as conn:
        for row in conn.execute(first):
            members.setdefault(row.team_id, []).append(dict(row._mapping))
        counts = {team_id: count for team_id, count in conn.execute(counting)}
    return members, counts


def _user_labels(ui: UI, ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    users = User.__table__
    with ui.site.engine.connect() as conn:
        rows = conn.execute(sa.select(users.c.id, users.c.name, users.c.email).where(users.c.id.in_(ids)))
        return {row.id: row.name or row.email for row in rows}


# -- roles and the permission matrix -----------------------------------------------------------


@dataclass
class MatrixRow:
    """One entity's permissions for one role."""

    entity: str
    label: str
    owned: bool
    read: str  # none / own / team / all for an owned entity; "yes" / "none" otherwise
    columns: dict[str, tuple[str, bool]] = field(default_factory=dict)  # operation -> (permission, granted)
    others: list[tuple[str, str, bool]] = field(default_factory=list)  # (permission, label, granted)


def grant_list(role: Grants, registry: dict[str, Permission]) -> list[str]:
    """What ``role`` holds as a stored ``permissions`` list (a role on its defaults, spelled out)."""
    found = []
    for name in registry:
        if not role.allows(name):
            continue
        entity = name.rsplit(".", 1)[0]
        scope = role.scopes.get(entity) if name.endswith(".read") and role.source != ADMIN else None
        found.append(f"{name}:{scope}" if scope else name)
    return found


def permission_matrix(ui: UI, role: Grants) -> tuple[list[MatrixRow], list[tuple[str, str, bool]]]:
    """One row per enabled entity (in menu order), and the permissions that belong to no entity."""
    registry = permissions.registry(ui.view)
    rows: dict[str, MatrixRow] = {}
    for name, entity in ui.view.entities.items():
        owned = entity.owner_field is not None
        scope = role.scope(name)
        read = (scope or "none") if owned else ("yes" if scope else "none")
        rows[name] = MatrixRow(name, ui.label(entity.label_plural, name), owned, read)
    loose: list[tuple[str, str, bool]] = []
    for name, declared in registry.items():
        entity_name, op = name.rsplit(".", 1)
        row = rows.get(entity_name)
        if row is None:
            loose.append((name, ui.label(declared.label, name), role.allows(name)))
        elif op == "read":
            continue
        elif op in dict(OPERATIONS):
            row.columns[op] = (name, role.allows(name))
        else:
            entity = ui.view.entities[entity_name]
            action = entity.action(op)
            label = ui.label(action.label, op) if action is not None else ui.label(declared.label, name)
            row.others.append((name, label, role.allows(name)))
    return list(rows.values()), loose


def grants_from_form(ui: UI, form: Any, stored: list[str] | None) -> list[str]:
    """A role's ``permissions`` list from the matrix form.

    Grants stored for permissions that are not registered now (a disabled
    plugin's) are kept, so that enabling the plugin again restores them.
    """
    registry = permissions.registry(ui.view)
    ticked = {v for v in form.getlist("grant") if isinstance(v, str)}
    found = []
    for name in registry:
        entity_name, op = name.rsplit(".", 1)
        entity = ui.view.entities.get(entity_name)
        if op == "read" and entity is not None:
            choice = form.get(f"read.{entity_name}", "none")
            if entity.owner_field is not None and choice in SCOPES:
                found.append(f"{name}:{choice}")
            elif entity.owner_field is None and choice == "yes":
                found.append(name)
        elif name in ticked:
            found.append(name)
    for text in stored or ():
        try:
            name, _ = parse_grant(text)
        except ValueError:
            continue
        if name not in registry:
            found.append(text)
    return found


def _role(ui: UI, name: str) -> dict[str, Any]:
    found = ui.site.records.list(ui.actor, "roles", filters={"name": name}, limit=1).items
    if not found:
        raise NotFound(f"no role named {name!r}")
    return found[0]


def _role_counts(ui: UI) -> dict[str, int]:
    users = User.__table__
    with ui.site.engine.connect() as conn:
        return {role: count for role, count in conn.execute(sa.select(users.c.role, sa.func.count()).group_by(users.c.role))}


async def roles_page(request: Request) -> Response:
    """``/admin/roles``: every role with its user count; create a role, optionally copying another's grants."""
    ui = ui_for(request)
    actor = ui.require_admin()
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    other: list[str] = []
    roles = ui.site.records.list(actor, "roles", sort="name", limit=500).items
    if request.method == "POST":
        form = await request.form()
        check_csrf(request, form)
        values = {k: str(form.get(k) or "").strip() for k in ("name", "label_en", "label_zh_CN", "copy_from")}
        label = {k: v for k, v in (("en", values["label_en"]), ("zh_CN", values["label_zh_CN"])) if v} or {"en": values["name"]}
        granted: list[str] = []
        if values["copy_from"]:
            source = permissions.grants(ui.site, values["copy_from"])
            granted = grant_list(source, permissions.registry(ui.view))
        try:
            ui.site.records.create(actor, "roles", {"name": values["name"], "label": label, "permissions": granted})
        except RecordError as exc:
            exc = ui.explain(exc, "roles")
            errors, other = errors_by_field(exc.details)
            errors = {{"label": "label_en"}.get(k, k): v for k, v in errors.items()}
            other = other or ([] if errors else [exc.message])
        else:
            return ui.redirect(f"/admin/roles/{values['name']}?created=1")
    counts = _role_counts(ui)
    listed = [
        {**role, "label_text": ui.label(role["label"], role["name"]), "users": counts.get(role["name"], 0),
         "grants": permissions.grants(ui.site, role["name"]).source}
        for role in roles
    ]
    return ui.render(
        "admin/roles.html", status_code=422 if errors or other else 200, roles=listed, values=values, errors=errors,
        other_errors=other, deleted=request.query_params.get("deleted"),
    )


async def role_page(request: Request) -> Response:
    """``/admin/roles/NAME``: the permission matrix; save, reset to defaults, or delete the role."""
    ui = ui_for(request)
    actor = ui.require_admin()
    role = _role(ui, request.path_params["name"])
    error = None
    if request.method == "POST":
        form = await request.form()
        check_csrf(request, form)
        op = form.get("op", "save")
        try:
            if op == "delete":
                ui.site.records.delete(actor, "roles", role["id"])
                return ui.redirect(f"/admin/roles?deleted={role['name']}")
            if op == "reset":
                if not role["builtin"]:
                    raise ValidationError.at(["permissions"], ui.gettext("Only a built-in role has defaults to go back to."))
                ui.site.records.update(actor, "roles", role["id"], {"permissions": None})
            else:
                granted = grants_from_form(ui, form, role["permissions"])
                ui.site.records.update(actor, "roles", role["id"], {"permissions": granted})
        except RecordError as exc:
            exc = ui.explain(exc, "roles")
            error = _message(exc)
        else:
            return ui.redirect(f"/admin/roles/{role['name']}?saved={op}")
    held = permissions.grants(ui.site, role["name"])
    rows, loose = permission_matrix(ui, held)
    return ui.render(
        "admin/role.html",
        status_code=422 if error else 200,
        role=role,
        role_label=ui.label(role["label"], role["name"]),
        grants=held,
        rows=rows,
        loose=loose,
        operations=OPERATIONS,
        scope_labels=SCOPE_LABELS,
        users=_role_counts(ui).get(role["name"], 0),
        is_admin_role=role["name"] == ADMIN,
        error=error,
        saved=request.query_params.get("saved"),
        created=request.query_params.get("created"),
    )


# -- record rules -------------------------------------------------------------------------------


async def record_rules_page(request: Request) -> Response:
    """``/admin/record-rules``: which rows each role sees per owned entity, and the plugins' rules in words."""
    ui = ui_for(request)
    actor = ui.require_admin()
    roles = [r for r in ui.site.records.list(actor, "roles", sort="name", limit=500).items if r["name"] != ADMIN]
    owned = [(name, ui.label(e.label_plural, name)) for name, e in ui.view.entities.items() if e.owner_field is not None]
    error = None
    if request.method == "POST":
        form = await request.form()
        check_csrf(request, form)
        try:
            changed = _save_scopes(ui, roles, [name for name, _ in owned], form)
        except RecordError as exc:
            exc = ui.explain(exc)
            error = _message(exc)
        else:
            return ui.redirect(f"/admin/record-rules?saved={changed}")
    held = {r["name"]: permissions.grants(ui.site, r["name"]) for r in roles}
    grid = [(name, label, {r["name"]: held[r["name"]].scope(name) or "none" for r in roles}) for name, label in owned]
    return ui.render(
        "admin/record_rules.html",
        status_code=422 if error else 200,
        roles=[(r["name"], ui.label(r["label"], r["name"])) for r in roles],
        grid=grid,
        scope_labels=SCOPE_LABELS,
        shared=[(name, ui.label(e.label_plural, name)) for name, e in ui.view.entities.items() if e.owner_field is None],
        described=described_rules(ui),
        error=error,
        saved=request.query_params.get("saved"),
    )


def _save_scopes(ui: UI, roles: list[dict[str, Any]], entities: list[str], form: Any) -> int:
    """Give each role the read scope picked per entity; one transaction for all roles. Returns how many changed."""
    registry = permissions.registry(ui.view)
    updates = []
    for role in roles:
        held = permissions.grants(ui.site, role["name"])
        picked = {e: form.get(f"scope.{role['name']}.{e}") for e in entities}
        picked = {e: s for e, s in picked.items() if s in (*SCOPES, "none") and s != (held.scope(e) or "none")}
        if not picked:
            continue
        granted = [g for g in (role["permissions"] if role["permissions"] is not None else grant_list(held, registry))
                   if _read_entity(g) not in picked]
        granted += [f"{e}.read:{s}" for e, s in picked.items() if s != "none"]
        updates.append((role["id"], granted))
    with ui.site.write() as conn:
        for role_id, granted in updates:
            ui.site.records.update(ui.actor, "roles", role_id, {"permissions": granted}, conn=conn)
    return len(updates)


def _read_entity(grant: str) -> str | None:
    """The entity of a read grant (``notes.read:own`` → ``notes``), else ``None``."""
    name = grant.partition(":")[0]
    return name.removesuffix(".read") if name.endswith(".read") else None


def described_rules(ui: UI) -> list[dict[str, Any]]:
    """Every enabled plugin's ``register_record_rule_descriptions``, plus plugins with rules they do not describe."""
    hook = ui.view.pm.hook
    found: list[dict[str, Any]] = []
    described = set()
    for impl in hook.register_record_rule_descriptions.get_hookimpls():
        for raw in impl.function() or ():
            if not isinstance(raw, dict) or not isinstance(raw.get("entity"), str) or "label" not in raw:
                raise PluginError(f"plugin {impl.plugin_name!r}: a record rule description needs 'entity' and 'label', got {raw!r}")
            entity = ui.view.entity(raw["entity"])
            found.append({
                "plugin": impl.plugin_name,
                "entity": raw["entity"],
                "entity_label": ui.label(entity.label_plural, raw["entity"]) if entity else raw["entity"],
                "text": ui.label(raw["label"]),
                "combine": "and" if raw.get("combine") == "and" else "or",
            })
            described.add(impl.plugin_name)
    for entity in ui.view.entities.values():
        if entity.parents:
            found.append({
                "plugin": entity.plugin or "core",
                "entity": entity.name,
                "entity_label": ui.label(entity.label_plural, entity.name),
                "text": ui.gettext("Readable by whoever may read its parent (%(parents)s); changing it still needs its own rights", parents=_parents_text(ui, entity)),
                "combine": "or",
            })
    silent = {impl.plugin_name for impl in (*hook.record_rules.get_hookimpls(), *hook.record_filter.get_hookimpls())}
    for plugin in sorted(silent - described - {"core"}):
        found.append({"plugin": plugin, "entity": None, "entity_label": "", "text": None, "combine": None})
    return found


def _parents_text(ui: UI, entity: Any) -> str:
    """The parents' plural labels; ``the record it names`` for the generic pair."""
    names = []
    for ref in entity.parents:
        parent = ui.view.entity(ref.entity) if ref.entity else None
        names.append(ui.label(parent.label_plural, ref.entity) if parent else ui.gettext("the record it names"))
    return ", ".join(names)
