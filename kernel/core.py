"""The kernel's own plugin, ``core``: users, teams and roles, registered like any other plugin.

It is essential: always enabled, never disabled.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, ClassVar

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, field_validator

from .entities import Entity
from .errors import Conflict, ValidationError
from .hookspecs import hookimpl
from .models import Role, Team, User

NAME = "core"
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
    password: str | None = Field(None, min_length=8, max_length=256)

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
    permissions: list[str] = Field(default_factory=list)


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
            hidden=("password_hash",),
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
            name="roles",
            label={"en": "Role", "zh_CN": "角色"},
            label_plural={"en": "Roles", "zh_CN": "角色"},
            model=Role,
            fields=RoleFields,
            searchable=("name",),
        ),
    ]


@hookimpl
def register_migrations() -> str:
    return str(Path(__file__).parent / "migrations" / "versions")


@hookimpl
def before_create(site: Any, conn: sa.Connection, entity: str, values: dict[str, Any]) -> None:
    if entity == "users":
        _check_user(conn, values, None)
        password = values.get("password")
        values["password_hash"] = site.passwords.hash(password) if password else None
    elif entity in ("teams", "roles"):
        _check_unique_name(conn, entity, values["name"], None)


@hookimpl
def before_update(site: Any, conn: sa.Connection, entity: str, record: dict[str, Any], changes: dict[str, Any]) -> None:
    if entity == "users":
        _check_user(conn, changes, record["id"])
        if changes.get("password"):
            changes["password_hash"] = site.passwords.hash(changes["password"])
    elif entity in ("teams", "roles") and "name" in changes:
        _check_unique_name(conn, entity, changes["name"], record["id"])
    if entity == "roles" and record.get("builtin") and changes.get("name", record["name"]) != record["name"]:
        raise ValidationError.at(["name"], "a built-in role cannot be renamed")


@hookimpl
def before_delete(conn: sa.Connection, entity: str, record: dict[str, Any]) -> None:
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


def _check_unique_name(conn: sa.Connection, entity: str, name: str, own_id: int | None) -> None:
    model = Team if entity == "teams" else Role
    taken = sa.select(model.id).where(model.name == name)
    if own_id is not None:
        taken = taken.where(model.id != own_id)
    if conn.scalar(taken) is not None:
        raise Conflict(f"{entity[:-1]} {name!r} already exists", [{"loc": ["name"], "msg": "already taken"}])
