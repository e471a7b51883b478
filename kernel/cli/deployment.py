"""Setting a deployment up and running it: ``init``, ``demo``, ``serve``, ``worker``, ``db``."""

from __future__ import annotations

import importlib.util
import os
import signal
from typing import TYPE_CHECKING, Any

import click

from .. import migrations, search
from ..db import pool_size
from ..i18n import counted
from ..demo import DEMO_ADMIN_EMAIL, DEMO_USERS, DemoSeed, generate_password, seed_demo
from ..jobs import schedule, worker_name
from ..settings import load_settings
from ..site import Site
from .group import CLI_ACTOR, CLIState, UserError, pass_site, pass_state
from .users import user_by_email

if TYPE_CHECKING:
    from starlette.applications import Starlette


@click.command()
@click.option("--admin-email", default=DEMO_ADMIN_EMAIL, show_default=True, help="Email of the admin user to create.")
@click.option("--admin-password", help="The admin's password; a strong one is generated and printed when left out.")
@pass_site
def init(site: Site, admin_email: str, admin_password: str | None) -> None:
    """Create or upgrade the database and add an admin user (safe to repeat)."""
    branches = migrations.upgrade(site)
    click.echo(f"database ready (migrated: {', '.join(branches)})")
    if user_by_email(site, admin_email) is not None:
        click.echo(f"admin {admin_email} already exists; left unchanged")
        return
    password = admin_password or generate_password()
    values = {"email": admin_email, "name": "Administrator", "role": "admin", "password": password}
    user = site.records.create(CLI_ACTOR, "users", values)
    click.echo(f"admin created: {user['email']}")
    if admin_password is None:
        click.echo(f"admin password: {password}  (shown once; change it after logging in)")


def prepare_demo(site: Site, reset_passwords: bool = False) -> DemoSeed:
    """Migrate, seed the demo data and print the logins whose passwords were set just now."""
    migrations.upgrade(site)
    seed = seed_demo(site, CLI_ACTOR, reset_passwords=reset_passwords)
    added = (counted(seed.teams_added, site.view.entity("teams").unit), counted(seed.users_added, site.view.entity("users").unit))
    click.echo(f"demo data ready: {added[0]} and {added[1]} added")
    if seed.admin_password:
        click.echo(f"admin login: {seed.admin_email} / {seed.admin_password}  (shown once)")
    else:
        click.echo(f"admin login: {seed.admin_email} (password unchanged; forgotten? run 'crm demo --reset-passwords')")
    users = {email: password for email, password in seed.passwords.items() if email != seed.admin_email}
    if users:
        roles = {user["email"]: user["role"] for user in DEMO_USERS}
        click.echo("demo users (shown once; 'crm demo --reset-passwords' sets new ones):")
        width = max(map(len, users))
        for email, password in users.items():
            click.echo(f"  {email:<{width}}  {password}  {roles.get(email, '')}")
    return seed


@click.command()
@click.option(
    "--reset-passwords", is_flag=True,
    help="Give the first admin and the demo users new passwords and print them (their sessions and API tokens end).",
)
@pass_site
def demo(site: Site, reset_passwords: bool) -> None:
    """Initialize the database and add demo teams, users, an admin and each plugin's demo records (safe to repeat)."""
    prepare_demo(site, reset_passwords)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=1, show_default=True, type=click.IntRange(min=1), help="Worker processes.")
@click.option("--demo", "with_demo", is_flag=True, help="Initialize the database and seed demo data first.")
@pass_state
def serve(state: CLIState, host: str, port: int, workers: int, with_demo: bool) -> None:
    """Serve the web app and the API with uvicorn.

    Jobs and background tasks run in-process on SQLite, and on PostgreSQL when there is
    one worker; otherwise run 'crm worker' next to it.
    """
    import uvicorn

    from ..web.app import create_app

    if workers > 1 and state.extra_plugins:
        raise UserError("--workers: extra plugin modules cannot be passed to worker processes; use one worker")
    site = state.site()
    if with_demo:
        prepare_demo(site)
    else:
        refuse_pending_migrations(site)
    run_jobs = site.engine.dialect.name != "postgresql" or workers == 1
    jobs_where = "in-process" if run_jobs else "left to 'crm worker'"
    stack = server_stack()
    threads = pool_size(site.engine)
    click.echo(
        f"serving http://{host}:{port}/ with {workers} worker(s) on {stack['loop']} + {stack['http']}, "
        f"{threads} request threads each; jobs and background tasks {jobs_where}"
    )
    # X-Forwarded-* are read by the app itself, from [crm] trusted_proxies only (kernel.web.proxies)
    if workers == 1:
        uvicorn.run(create_app(site=site, run_jobs=run_jobs), host=host, port=port, proxy_headers=False, **stack)
        return
    if state.config is not None:
        os.environ["CRM_CONFIG"] = os.path.abspath(state.config)
    factory = "web_app_running_jobs" if run_jobs else "web_app"
    uvicorn.run(f"kernel.cli:{factory}", factory=True, host=host, port=port, workers=workers, proxy_headers=False, **stack)


def server_stack() -> dict[str, str]:
    """uvicorn's event loop and HTTP parser: uvloop and httptools (``uvicorn[standard]``) when installed.

    Named explicitly rather than left to uvicorn's "auto", so the start-up line says what runs.
    """
    stack = {"loop": "asyncio", "http": "h11"}
    if importlib.util.find_spec("uvloop") is not None:
        stack["loop"] = "uvloop"
    if importlib.util.find_spec("httptools") is not None:
        stack["http"] = "httptools"
    return stack


def refuse_pending_migrations(site: Site) -> None:
    """Serving on tables older than the code (a plugin installed or upgraded since) fails later and worse."""
    behind = migrations.pending(site)
    if behind:
        raise UserError(f"database tables of {', '.join(behind)} are not up to date; run 'crm db upgrade' first")


def web_app() -> Starlette:
    """uvicorn factory for ``crm serve --workers N``: each worker process builds its own site."""
    from ..web.app import create_app

    return create_app(load_settings())


def web_app_running_jobs() -> Starlette:
    """Like :func:`web_app`, and runs due jobs and background tasks in-process (SQLite)."""
    from ..web.app import create_app

    return create_app(load_settings(), run_jobs=True)


@click.command()
@click.option("--task-threads", default=1, show_default=True, type=click.IntRange(1, 32), help="Background tasks run at once.")
@pass_site
def worker(site: Site, task_threads: int) -> None:
    """Run due jobs and fire due per-record timers every jobs_interval_seconds, and run queued
    background tasks (looked for every tasks_interval_seconds, TASK_THREADS at once), until
    SIGINT or SIGTERM.

    Run as many workers as you like: each job slot and each task is claimed by one of them; a task
    whose worker was killed is taken over by another once its lease expires.
    """
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.schedulers.blocking import BlockingScheduler

    from .. import tasks

    refuse_pending_migrations(site)
    scheduler = BlockingScheduler(timezone="UTC", executors={"default": ThreadPoolExecutor(task_threads + 3)})  # + the jobs, timers and outbox ticks
    schedule(scheduler, site)
    tasks.schedule(scheduler, site, threads=task_threads)

    def stop(signum: int, _frame: Any) -> None:
        click.echo(f"{signal.Signals(signum).name}: finishing running jobs, then stopping", err=True)
        scheduler.shutdown(wait=True)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    every = site.settings
    click.echo(
        f"worker {worker_name()}: looking for due jobs and timers every {every.jobs_interval_seconds:g}s "
        f"and for background tasks every {every.tasks_interval_seconds:g}s ({task_threads} at once)"
    )
    scheduler.start()
    click.echo("worker stopped")


@click.group()
def db() -> None:
    """Database migrations."""


@db.command("upgrade")
@pass_site
def db_upgrade(site: Site) -> None:
    """Upgrade the kernel's and every enabled plugin's tables to their latest revision."""
    click.echo(f"upgraded: {', '.join(migrations.upgrade(site))}")


@db.command("reindex")
@click.argument("entities", nargs=-1)
@pass_site
def db_reindex(site: Site, entities: tuple[str, ...]) -> None:
    """Rebuild the search documents of ENTITIES (default: every enabled entity)."""
    known = site.refresh(force=True).entities
    unknown = [name for name in entities if name not in known]
    if unknown:
        raise UserError(f"no enabled entity named {unknown[0]!r}")
    counts = search.rebuild(site, entities or None)
    click.echo("reindexed: " + ", ".join(counted(count, known[name].unit) for name, count in counts.items() if count))


@db.command("revision")
@click.argument("plugin")
@click.option("-m", "--message", required=True, help="What the revision changes.")
@pass_site
def db_revision(site: Site, plugin: str, message: str) -> None:
    """Autogenerate PLUGIN's next migration from its models (for plugin authors)."""
    try:
        migrations.revision(site, plugin, message)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    click.echo(f"new revision for {plugin}: {message}")
