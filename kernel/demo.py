"""Demo data for ``crm serve --demo`` and ``crm demo``: an admin, a few teams and users.

Everything is written through the records service, exactly as an import would
be, and only what is missing is added, so seeding twice changes nothing. Names
are a mix of Chinese and English on purpose: the demo should show both locales'
text in lists, sorting and search. Each enabled plugin adds its own records
through the ``after_demo_seeded`` hook.

Every demo account can log in: the admin and each demo user get a generated
password when they are created (stored hashed, like any other; reported once in
:attr:`DemoSeed.passwords`). A demo user without a password (seeded by an older
version) gets one on the next run. Passwords cannot be shown again, so
``reset_passwords=True`` (``crm demo --reset-passwords``) gives the admin and the
demo users new ones, which ends their sessions and API tokens.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from .models import User
from .records import MAX_LIMIT, Actor

if TYPE_CHECKING:
    from .site import Site

DEMO_ADMIN_EMAIL = "admin@example.com"
DEMO_TEAMS = ("华东销售部", "Enterprise Sales", "客户服务部")
DEMO_USERS: tuple[dict[str, Any], ...] = (
    {"email": "zhang.wei@example.com", "name": "张伟", "role": "sales_manager", "team": "华东销售部"},
    {"email": "li.na@example.com", "name": "李娜", "role": "sales_rep", "team": "华东销售部"},
    {"email": "emily.carter@example.com", "name": "Emily Carter", "role": "sales_rep", "team": "Enterprise Sales"},
    {"email": "wang.fang@example.com", "name": "王芳", "role": "service_agent", "team": "客户服务部"},
    {"email": "james.wilson@example.com", "name": "James Wilson", "role": "marketer", "team": None},
    {"email": "chen.jing@example.com", "name": "陈静", "role": "executive", "team": None},
)


@dataclass(frozen=True)
class DemoSeed:
    """What seeding did. ``admin_password`` is set only when the admin's password was set just now
    (the admin was created, or ``reset_passwords``); ``passwords`` holds every password set just now,
    by email, the admin's included, in the order of :data:`DEMO_USERS`."""

    admin_email: str
    admin_password: str | None
    teams_added: int
    users_added: int
    passwords: dict[str, str] = field(default_factory=dict)


def generate_password() -> str:
    """A random password (about 128 bits) for an account nobody has chosen one for yet."""
    return secrets.token_urlsafe(16)


def seed_demo(site: Site, actor: Actor | None = None, *, reset_passwords: bool = False) -> DemoSeed:
    """Add the demo admin, teams and users that are not there yet (the database must be migrated);
    with ``reset_passwords`` the admin and the demo users get new passwords."""
    actor = actor or Actor.system("cli")
    admin_email, admin_password = _seed_admin(site, actor, reset_passwords)
    teams, teams_added = _seed_teams(site, actor)
    users_added, passwords = _seed_users(site, actor, teams, reset_passwords)
    site.view.pm.hook.after_demo_seeded(site=site, actor=actor)  # each enabled plugin adds its own demo records
    if admin_password is not None:
        passwords = {admin_email: admin_password, **passwords}
    return DemoSeed(admin_email, admin_password, teams_added, users_added, passwords)


def _all(site: Site, actor: Actor, entity: str) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    while True:
        page = site.records.list(actor, entity, limit=MAX_LIMIT, offset=len(records))
        records.extend(page.items)
        if not page.items or (page.total_exact and len(records) >= page.total):
            return records


def _seed_admin(site: Site, actor: Actor, reset_password: bool) -> tuple[str, str | None]:
    existing = site.records.list(actor, "users", filters={"role": "admin"}, sort="id", limit=1)
    if existing.items:
        admin = existing.items[0]
        if not reset_password:
            return admin["email"], None
        password = generate_password()
        site.records.update(actor, "users", admin["id"], {"password": password})
        return admin["email"], password
    password = generate_password()
    admin = {"email": DEMO_ADMIN_EMAIL, "name": "Administrator", "role": "admin", "password": password}
    site.records.create(actor, "users", admin)
    return DEMO_ADMIN_EMAIL, password


def _seed_teams(site: Site, actor: Actor) -> tuple[dict[str, int], int]:
    """Every team's id by name, after adding the missing demo teams."""
    teams = {team["name"]: team["id"] for team in _all(site, actor, "teams")}
    missing = [name for name in DEMO_TEAMS if name not in teams]
    if missing:
        for team in site.records.create_many(actor, "teams", [{"name": name} for name in missing], return_records=True):
            teams[team["name"]] = team["id"]
    return teams, len(missing)


def _seed_users(site: Site, actor: Actor, teams: dict[str, int], reset_passwords: bool) -> tuple[int, dict[str, str]]:
    """Add the missing demo users, each with a generated password; give one to those without
    (all of them with ``reset_passwords``). Returns how many were added and the passwords set."""
    demo_emails = [user["email"] for user in DEMO_USERS]
    with site.engine.connect() as conn:
        found = {row.email: row for row in conn.execute(sa.select(User.id, User.email, User.password_hash).where(User.email.in_(demo_emails)))}
    passwords = {email: generate_password() for email in demo_emails if email not in found or reset_passwords or not found[email].password_hash}
    missing = [
        {"email": user["email"], "name": user["name"], "role": user["role"], "team_id": teams.get(user["team"]), "password": passwords[user["email"]]}
        for user in DEMO_USERS
        if user["email"] not in found
    ]
    with site.write() as conn:
        if missing:
            site.records.create_many(actor, "users", missing, conn=conn)
        for email, password in passwords.items():
            if email in found:
                site.records.update(actor, "users", found[email].id, {"password": password}, conn=conn)
    return len(missing), passwords
