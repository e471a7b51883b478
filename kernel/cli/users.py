"""``crm users``: add, list and change user accounts through the records service."""

from __future__ import annotations

from typing import Any

import click

from ..errors import NotFound
from ..passwords import PASSWORD_MIN
from ..records import MAX_LIMIT
from ..site import Site
from .group import CLI_ACTOR, UserError, pass_site
from .output import echo_table


POLICY = f"At least {PASSWORD_MIN} characters, not only digits, not a common password, not the email."


def all_records(site: Site, entity: str) -> list[dict[str, Any]]:
    """Every record of ``entity``, page by page, oldest first."""
    records: list[dict[str, Any]] = []
    while True:
        page = site.records.list(CLI_ACTOR, entity, sort="id", limit=MAX_LIMIT, offset=len(records))
        records.extend(page.items)
        if not page.items or (page.total_exact and len(records) >= page.total):
            return records


def user_by_email(site: Site, email: str) -> dict[str, Any] | None:
    found = site.records.list(CLI_ACTOR, "users", filters={"email": email.strip().lower()}, limit=1).items
    return found[0] if found else None


@click.group()
def users() -> None:
    """User accounts."""


@users.command("add")
@click.argument("email")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True, help=POLICY)
@click.option("--role", required=True, help="A role name, e.g. sales_rep.")
@click.option("--team", "team_name", metavar="TEAM", help="The team's name.")
@click.option("--name", default="", help="The user's display name.")
@pass_site
def users_add(site: Site, email: str, password: str, role: str, team_name: str | None, name: str) -> None:
    """Add a user who logs in with EMAIL."""
    team_id = None
    if team_name is not None:
        found = site.records.list(CLI_ACTOR, "teams", filters={"name": team_name}, limit=1).items
        if not found:
            raise UserError(f"--team: no team named {team_name!r}")
        team_id = found[0]["id"]
    values = {"email": email, "name": name, "password": password, "role": role, "team_id": team_id}
    user = site.records.create(CLI_ACTOR, "users", values)
    click.echo(f"user added: {user['email']} ({user['role']})")


@users.command("list")
@pass_site
def users_list(site: Site) -> None:
    """Show every user."""
    teams = {team["id"]: team["name"] for team in all_records(site, "teams")}
    echo_table(
        ("id", "email", "name", "role", "team", "active"),
        (
            (u["id"], u["email"], u["name"] or None, u["role"], teams.get(u["team_id"]), "yes" if u["active"] else "no")
            for u in all_records(site, "users")
        ),
    )


@users.command("set-role")
@click.argument("email")
@click.argument("role")
@pass_site
def users_set_role(site: Site, email: str, role: str) -> None:
    """Give the user with EMAIL the role ROLE."""
    user = existing_user(site, email)
    site.records.update(CLI_ACTOR, "users", user["id"], {"role": role})
    click.echo(f"{user['email']}: role {role}")


def existing_user(site: Site, email: str) -> dict[str, Any]:
    """The user with ``email``; a one-line user error when there is none."""
    user = user_by_email(site, email)
    if user is None:
        raise NotFound(f"no user with email {email}")
    return user


@users.command("set-password")
@click.argument("email")
@click.option("--password", prompt="New password", hide_input=True, confirmation_prompt=True, help=POLICY + " Asked for when left out.")
@pass_site
def users_set_password(site: Site, email: str, password: str) -> None:
    """Give the user with EMAIL a new password; their sessions and API tokens end."""
    user = existing_user(site, email)
    site.records.update(CLI_ACTOR, "users", user["id"], {"password": password})
    click.echo(f"{user['email']}: password changed; their sessions and API tokens have ended")
