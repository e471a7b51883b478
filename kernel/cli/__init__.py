"""The ``crm`` command line.

Each invocation builds one :class:`~kernel.site.Site` from ``crm.toml`` (or
``--config``) and goes through the same services as the web app: users are
written by the records service, custom fields by :mod:`kernel.fielddefs`,
plugin toggles by :mod:`kernel.pluginstate`. Any :class:`~kernel.errors.CRMError`
(a bad config file, a refused write, an uninitialized database) ends the
command with one line on stderr and exit code 1; click keeps exit code 2 for
usage mistakes.

Plugins add commands through the ``register_commands`` hook; a plugin's
command receives the site with :func:`pass_site`. :func:`make_cli` builds the
command group; tests call it with plugin modules that are not installed as
entry points and with cheap password hashing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import click

from .deployment import db, demo, init, serve, web_app, web_app_running_jobs, worker
from .export import export
from .fields import fields
from .group import CRMGroup, UserError, pass_site
from .jobs import jobs
from .plugin import plugin
from .plugins import plugins
from .transfer import backup, import_, restore
from .users import users

__all__ = ["CRMGroup", "UserError", "main", "make_cli", "pass_site", "web_app", "web_app_running_jobs"]

COMMANDS = (init, demo, serve, worker, jobs, db, plugins, plugin, fields, users, export, import_, backup, restore)


def make_cli(*, extra_plugins: Iterable[Any] = (), password_hasher: Any = None) -> CRMGroup:
    """Build the ``crm`` command group.

    ``extra_plugins`` are plugin modules that are not installed as entry points
    (tests, local experiments); ``password_hasher`` replaces the production
    argon2 parameters (tests use :func:`kernel.passwords.cheap_hasher`).
    """

    @click.group(
        cls=CRMGroup,
        extra_plugins=extra_plugins,
        password_hasher=password_hasher,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    @click.option(
        "--config",
        type=click.Path(dir_okay=False),
        is_eager=True,
        help="Path of crm.toml (default: $CRM_CONFIG, else ./crm.toml).",
    )
    @click.pass_context
    def crm(ctx: click.Context, config: str | None) -> None:
        """PlugCRM: set up, run and administer a deployment."""
        assert isinstance(ctx.command, CRMGroup)
        ctx.command.state(ctx)

    for command in COMMANDS:
        crm.add_command(command)
    assert isinstance(crm, CRMGroup)
    return crm


def main() -> None:
    """Entry point of the ``crm`` script."""
    make_cli()(prog_name="crm")
