"""``crm plugins``: which plugins are installed, and enabling or disabling them at run time."""

from __future__ import annotations

import click

from .. import pluginstate
from ..site import Site
from .group import CLI_ACTOR, pass_site
from .output import echo_table


@click.group()
def plugins() -> None:
    """Installed plugins and whether they are enabled."""


@plugins.command("list")
@pass_site
def plugins_list(site: Site) -> None:
    """Show every installed plugin with its state and requirements."""
    rows = []
    for plugin in pluginstate.describe_plugins(site):
        state = ("enabled" if plugin["enabled"] else "disabled") + (" (essential)" if plugin["essential"] else "")
        rows.append((plugin["name"], state, ", ".join(plugin["requires"]) or None, plugin["description"]))
    echo_table(("plugin", "state", "requires", "description"), rows)


@plugins.command("enable")
@click.argument("name")
@pass_site
def plugins_enable(site: Site, name: str) -> None:
    """Enable plugin NAME (running its migrations) in every process."""
    pluginstate.enable_plugin(site, CLI_ACTOR, name)
    click.echo(f"plugin {name} enabled")


@plugins.command("disable")
@click.argument("name")
@pass_site
def plugins_disable(site: Site, name: str) -> None:
    """Disable plugin NAME in every process; its data is kept."""
    pluginstate.disable_plugin(site, CLI_ACTOR, name)
    click.echo(f"plugin {name} disabled")
