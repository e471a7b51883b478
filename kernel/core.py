"""The kernel's own plugin, ``core``: users, teams, roles and targets, registered like any other plugin.

It is essential: always enabled, never disabled.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, ClassVar

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, field_validator

from . import links, ownership, permissions, targets, trash
from .entities import Entity
from .errors import Conflict, Forbidden, ValidationError
from .hookspecs import hookimpl
from .jobs import Job
from .models import Role, Target, Team, User
from .passwords import PASSWORD_MAX, PASSWORD_MIN, weakness

NAME = "core"
LABEL = {"en": "Core", "zh_CN": "核心"}
DESCRIPTION = {
    "en": "Users, teams, roles and targets: what every other module builds on.",
    "zh_CN": "用户、团队、角色和目标：其他模块的基础。",
}
HISTORY = "history"
REQUIRES: tuple[str, ...] = ()

BUILTIN_ROLES: dict[str, dict[str, str]] = {
    "admin": {"en": "Administrator", "zh_CN": "管理员"},
    "sales_manager": {"en": "Sales manager", "zh_CN": "销售经理"},
    "sales_rep": {"en": "Sales rep", "zh_CN": "销售代表"},
    "marketer": {"en": "Marketer", "zh_CN": "市场专员"},
    "service_agent": {"en": "Service agent", "zh_CN": "客服专员"},
    "executive": {"en": "Executive", "zh_CN": "管理层"},
}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")


class UserFields(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    __write_only__: ClassVar[tuple[str, ...]] = ("password",)

    email: str = Field(max_length=254)
    name: str = Field("", max_length=120)
    role: str = Field("sales_rep", max_length=60)
    team_id: int | None = Field(None, ge=1)
    active: bool = True
    # the policy is checked by before_create/before_update (it needs the email): kernel.passwords.weakness
    password: str | None = Field(None, max_length=PASSWORD_MAX, json_schema_extra={"minLength": PASSWORD_MIN})

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        if not _EMAIL.match(value):
            raise ValueError("is not an email address")
        return value.lower()


class TeamFields(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=120)
    parent_id: int | None = Field(None, ge=1)
    manager_id: int | None = Field(None, ge=1)


class RoleFields(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=60, pattern=r"^[a-z][a-z0-9_]*$")
    label: dict[str, str] = Field(default_factory=dict)
    permissions: list[Annotated[str, Field(max_length=120)]] | None = None  # None: the role's default grants (see kernel.permissions)


@hookimpl
def register_entities() -> list[Entity]:
    return [
        Entity(
            name="users",
            label={"en": "User", "zh_CN": "用户"},
            label_plural={"en": "Users", "zh_CN": "用户"},
            model=User,
            fields=UserFields,
            searchable=("email", "name"),
            hidden=("password_hash", "credentials_version"),
        ),
        Entity(
            name="teams",
            label={"en": "Team", "zh_CN": "团队"},
            label_plural={"en": "Teams", "zh_CN": "团队"},
            model=Team,
            fields=TeamFields,
            searchable=("name",),
        ),
        Entity(
            name=targets.ENTITY,
            label={"en": "Target", "zh_CN": "目标"},
            label_plural={"en": "Targets", "zh_CN": "目标"},
            model=Target,
            fields=targets.TargetFields,
            searchable=("metric",),
            owner_field="user_id",
        ),
        Entity(
            name="roles",
            label={"en": "Role", "zh_CN": "角色"},
            label_plural={"en": "Roles", "zh_CN": "角色"},
            model=Role,
            fields=RoleFields,
            searchable=("name",),
        ),
    ]


@hookimpl(specname="before_create")
def check_target_created(entity: str, values: dict[str, Any]) -> None:
    if entity == targets.ENTITY:
        targets.check(values)


@hookimpl(specname="before_update")
def check_target_updated(entity: str, record: dict[str, Any], changes: dict[str, Any]) -> None:
    if entity == targets.ENTITY:
        merged = {**record, **changes}
        targets.check(merged)
        if "amount" in changes or "currency" in changes:
            changes["amount"] = merged["amount"]


@hookimpl
def register_permissions() -> list[dict[str, Any]]:
    return targets.permissions()


@hookimpl
def record_rules(actor: Any, entity: str, table: sa.Table) -> sa.ColumnElement[bool] | None:
    return targets.shared_rule(actor, table) if entity == targets.ENTITY else None


@hookimpl
def register_migrations() -> str:
    return str(Path(__file__).parent / "migrations" / "versions")


@hookimpl
def register_jobs() -> list[Job]:
    """The kernel's own housekeeping (named ``kernel.…``)."""
    return [
        Job("kernel.purge_tasks", timedelta(hours=1), _purge_tasks,
            {"en": "Remove finished background tasks past their retention", "zh_CN": "删除超过保留期的已结束后台任务"}),
        Job("kernel.purge_links", timedelta(days=1), _purge_links,
            {"en": "Delete long-expired signed links", "zh_CN": "清理早已过期的签名链接"}),
        Job(trash.JOB, timedelta(hours=1), trash.purge,
            {"en": "Empty the recycle bin of expired records", "zh_CN": "清除回收站中过期的记录"}),
    ]


@hookimpl
def register_task_kinds() -> list[Any]:
    """The kernel's own background tasks: the import page's check and import (``kernel.import``)."""
    from .importtasks import task_kind

    return [task_kind()]


def _purge_tasks(site: Any, now: Any) -> int:
    from .tasks import purge_finished_tasks

    return purge_finished_tasks(site, now)


def _purge_links(site: Any, now: Any) -> int:
    return links.purge_expired(site)


#: Entities whose history is not for every reader: users' holds their logins, failed logins and
#: token names; teams' and roles' who changed the organisation and its rights.
PRIVATE_HISTORY = ("users", "teams", "roles")


@hookimpl(trylast=True)
def authorize(site: Any, actor: Any, entity: str, action: str) -> bool:
    if action == HISTORY:  # a record's history and activity: whoever may read it, unless guarded below
        return permissions.allowed(site, actor, entity, "read")
    if action == trash.RESTORE:  # undoing a delete takes the right to delete
        return permissions.allowed(site, actor, entity, "delete")
    return permissions.allowed(site, actor, entity, action)


@hookimpl(specname="authorize")
def guard_private_history(actor: Any, entity: str, action: str, record: dict[str, Any] | None) -> bool | None:
    """Admins read every user's, team's and role's history; a user reads their own, nobody else's."""
    if action != HISTORY or entity not in PRIVATE_HISTORY or permissions.is_admin(actor):
        return None
    return entity == "users" and record is not None and actor.user_id is not None and record.get("id") == actor.user_id


@hookimpl
def record_filter(site: Any, actor: Any, entity: str) -> sa.ColumnElement[bool] | None:
    return permissions.record_condition(site, actor, entity)


@hookimpl(tryfirst=True, specname="before_create")
def default_owner(site: Any, conn: sa.Connection, actor: Any, entity: str, values: dict[str, Any]) -> None:
    """A non-admin's new owned record is theirs; giving it to someone else needs ``E.assign`` and an active user."""
    owner_field = _owner_field(site, entity)
    if owner_field is None or permissions.is_admin(actor) or actor.user_id is None:
        return
    if values.get(owner_field) is None:
        values[owner_field] = actor.user_id
    _check_assign(site, actor, entity, owner_field, values[owner_field])
    if values[owner_field] != actor.user_id:
        ownership.checked_owner(conn, values[owner_field], loc=owner_field)


def _owner_field(site: Any, entity: str) -> str | None:
    found = site.view.entity(entity)
    return found.owner_field if found is not None else None


def _check_assign(site: Any, actor: Any, entity: str, owner_field: str, owner: Any) -> None:
    if owner != actor.user_id and not permissions.allowed(site, actor, entity, "assign"):
        raise Forbidden(
            f"{owner_field}: you may not give {entity} records to another user",
            [{"loc": [owner_field], "msg": f"needs the permission {entity}.assign"}],
        )


@hookimpl(specname="before_create")
def announce_role_created(site: Any, conn: sa.Connection, entity: str) -> None:
    """Role grants are cached per process: a change bumps the registry version in its own transaction."""
    if entity == "roles":
        site.bump(conn)


@hookimpl(specname="before_update")
def announce_role_updated(site: Any, conn: sa.Connection, entity: str) -> None:
    if entity == "roles":
        site.bump(conn)


@hookimpl(specname="before_delete")
def announce_role_deleted(site: Any, conn: sa.Connection, entity: str) -> None:
    if entity == "roles":
        site.bump(conn)


@hookimpl
def before_create(site: Any, conn: sa.Connection, entity: str, values: dict[str, Any]) -> None:
    if entity == "roles":
        _check_grants(site, values.get("permissions"), None)
    if entity == "users":
        _check_user(conn, values, None)
        _check_password(values.get("password"), values.get("email"))
        password = values.get("password")
        values["password_hash"] = site.passwords.hash(password) if password else None
    elif entity in ("teams", "roles"):
        _check_unique_name(conn, entity, values["name"], None)
    if entity == "teams":
        _check_team(conn, values, None)


@hookimpl
def before_update(site: Any, conn: sa.Connection, actor: Any, entity: str, record: dict[str, Any], changes: dict[str, Any]) -> None:
    if entity == "users":
        _check_user(conn, changes, record["id"])
        _keep_an_admin(conn, actor, record, changes)
        _check_password(changes.get("password"), changes.get("email", record.get("email")))
        if changes.get("password"):
            changes["password_hash"] = site.passwords.hash(changes["password"])
        if _ends_credentials(record, changes):
            changes["credentials_version"] = (record.get("credentials_version") or 1) + 1
    elif entity in ("teams", "roles") and "name" in changes:
        _check_unique_name(conn, entity, changes["name"], record["id"])
    if entity == "teams":
        _check_team(conn, changes, record["id"])
    if entity == "roles" and "permissions" in changes:
        if record["name"] == permissions.ADMIN and changes["permissions"] is not None:
            raise ValidationError.at(["permissions"], "the admin role always has every permission")
        _check_grants(site, changes["permissions"], record.get("permissions"))
    if entity == "roles" and record.get("builtin") and changes.get("name", record["name"]) != record["name"]:
        raise ValidationError.at(["name"], "a built-in role cannot be renamed")


@hookimpl
def before_delete(conn: sa.Connection, actor: Any, entity: str, record: dict[str, Any]) -> None:
    if entity == "users":
        if actor.user_id == record["id"]:
            raise ValidationError.at(["id"], "you cannot delete your own account")
        _keep_an_admin(conn, actor, record, {"active": False})
    if entity == "roles":
        if record.get("builtin"):
            raise ValidationError.at(["name"], "a built-in role cannot be deleted")
        if conn.scalar(sa.select(sa.func.count()).select_from(User).where(User.role == record["name"])):
            raise Conflict(f"role {record['name']!r} is still given to users")


def _check_user(conn: sa.Connection, values: dict[str, Any], own_id: int | None) -> None:
    if "email" in values:
        taken = sa.select(User.id).where(User.email == values["email"])
        if own_id is not None:
            taken = taken.where(User.id != own_id)
        if conn.scalar(taken) is not None:
            raise Conflict(f"a user with email {values['email']} already exists", [{"loc": ["email"], "msg": "already taken"}])
    if "role" in values and conn.scalar(sa.select(Role.id).where(Role.name == values["role"])) is None:
        raise ValidationError.at(["role"], f"unknown role {values['role']!r}")
    if values.get("team_id") is not None and conn.scalar(sa.select(Team.id).where(Team.id == values["team_id"])) is None:
        raise ValidationError.at(["team_id"], f"no team with id {values['team_id']}")


def _check_password(password: str | None, email: str | None) -> None:
    problem = weakness(password, email) if password else None
    if problem is not None:
        raise ValidationError.at(["password"], problem)


def _ends_credentials(record: dict[str, Any], changes: dict[str, Any]) -> bool:
    """A new password, a new role or deactivation ends every session and token of the user."""
    return bool(
        changes.get("password")
        or ("role" in changes and changes["role"] != record.get("role"))
        or (changes.get("active") is False and record.get("active"))
    )


def _keep_an_admin(conn: sa.Connection, actor: Any, record: dict[str, Any], changes: dict[str, Any]) -> None:
    """Nobody deactivates their own account, and the last active admin stays an active admin."""
    deactivating = changes.get("active") is False and bool(record.get("active"))
    if deactivating and actor.user_id == record["id"]:
        raise ValidationError.at(["active"], "you cannot deactivate your own account")
    demoting = changes.get("role", permissions.ADMIN) != permissions.ADMIN
    if not (deactivating or demoting) or record["role"] != permissions.ADMIN or not record.get("active"):
        return
    others = sa.select(User.id).where(User.role == permissions.ADMIN, User.active.is_(True), User.id != record["id"]).with_for_update()
    if not conn.execute(others).first():
        loc = "active" if deactivating else "role"
        raise Conflict(
            f"{record['email']} is the last active administrator; make another user an admin first",
            [{"loc": [loc], "msg": "the last active administrator must stay an active admin"}],
        )


def _check_unique_name(conn: sa.Connection, entity: str, name: str, own_id: int | None) -> None:
    model = Team if entity == "teams" else Role
    taken = sa.select(model.id).where(model.name == name)
    if own_id is not None:
        taken = taken.where(model.id != own_id)
    if conn.scalar(taken) is not None:
        raise Conflict(f"{entity[:-1]} {name!r} already exists", [{"loc": ["name"], "msg": "already taken"}])


def _check_grants(site: Any, grants: Any, previous: Any) -> None:
    details = permissions.check_grants(site.view, grants, previous)
    if details:
        first = details[0]
        raise ValidationError(f"permissions.{first['loc'][1]}: {first['msg']}", details)


def _check_team(conn: sa.Connection, values: dict[str, Any], own_id: int | None) -> None:
    manager = values.get("manager_id")
    if manager is not None and conn.scalar(sa.select(User.id).where(User.id == manager)) is None:
        raise ValidationError.at(["manager_id"], f"no user with id {manager}")
    parent = values.get("parent_id")
    seen = {own_id}
    while parent is not None:
        if parent in seen:
            raise ValidationError.at(["parent_id"], "a team cannot be placed below itself")
        seen.add(parent)
        row = conn.execute(sa.select(Team.id, Team.parent_id).where(Team.id == parent)).first()
        if row is None:
            raise ValidationError.at(["parent_id"], f"no team with id {parent}")
        parent = row.parent_id
