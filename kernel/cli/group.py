"""The root ``crm`` group: one Site per invocation, one-line errors, plugins' commands.

Plugins' commands are loaded only when a name is not one of the kernel's
commands, or to list them in ``--help``, so the kernel's own commands work
whatever state the plugins or the database are in.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import click
import sqlalchemy as sa

from ..errors import ConfigError, CRMError, PluginError
from ..plugins import make_plugin_manager
from ..records import Actor
from ..settings import load_settings
from ..site import NotInitialized, Site

CLI_ACTOR = Actor.system("cli")


class UserError(click.ClickException):
    """A mistake the user can fix: shown as one ``crm: error: ...`` line on stderr, exit code 1."""

    def show(self, file: Any = None) -> None:
        click.echo(f"crm: error: {' '.join(self.message.split())}", err=True)


class CLIState:
    """What one invocation shares between the group and its command: the config path and the site."""

    def __init__(self, config: str | None, extra_plugins: Sequence[Any], password_hasher: Any):
        self.config = config
        self.extra_plugins = extra_plugins
        self.password_hasher = password_hasher
        self.plugin_commands: dict[str, click.Command] | None = None
        self._site: Site | None = None

    def site(self) -> Site:
        """The site, built on first use: start-up configuration errors surface here."""
        if self._site is None:
            settings = load_settings(self.config)
            try:
                site = Site(settings, extra_plugins=self.extra_plugins)
            except sa.exc.ArgumentError as exc:
                raise ConfigError(f"cannot be used ({exc})", file=settings.config_file, key="crm.database_url") from None
            if self.password_hasher is not None:
                site.passwords = self.password_hasher
            self._site = site
        return self._site

    def close(self) -> None:
        if self._site is not None:
            self._site.close()


class CRMGroup(click.Group):
    """The ``crm`` group: turns kernel errors into one line and finds plugins' commands."""

    def __init__(self, *args: Any, extra_plugins: Iterable[Any] = (), password_hasher: Any = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.extra_plugins = tuple(extra_plugins)
        self.password_hasher = password_hasher

    def state(self, ctx: click.Context) -> CLIState:
        root = ctx.find_root()
        if not isinstance(root.obj, CLIState):
            root.obj = CLIState(root.params.get("config"), self.extra_plugins, self.password_hasher)
            root.call_on_close(root.obj.close)
        return root.obj

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CRMError as exc:
            raise UserError(str(exc)) from None
        except sa.exc.OperationalError as exc:
            reason = str(exc.orig or exc).strip().splitlines()[0]
            raise UserError(f"database: {reason}") from None

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return self.commands.get(cmd_name) or self._plugin_commands(ctx).get(cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        try:
            extra = list(self._plugin_commands(ctx))
        except (CRMError, sa.exc.SQLAlchemyError):
            extra = []  # help still works; running any command reports the error
        return sorted(self.commands) + sorted(extra)

    def _plugin_commands(self, ctx: click.Context) -> dict[str, click.Command]:
        state = self.state(ctx)
        if state.plugin_commands is None:
            state.plugin_commands = self._collect_plugin_commands(state.site())
        return state.plugin_commands

    def _collect_plugin_commands(self, site: Site) -> dict[str, click.Command]:
        """Ask each enabled plugin's ``register_commands``; no plugin may shadow an existing command."""
        try:
            pm = site.view.pm
        except NotInitialized:
            pm = make_plugin_manager(site.installed[name] for name in site.default_enabled)
        found: dict[str, click.Command] = {}
        for impl in reversed(pm.hook.register_commands.get_hookimpls()):
            scratch = click.Group()
            impl.function(**({"cli": scratch} if "cli" in impl.argnames else {}))
            for name, command in scratch.commands.items():
                if name in self.commands or name in found:
                    raise PluginError(f"plugin {impl.plugin_name!r} adds the command {name!r}, which already exists")
                found[name] = command
        return found


pass_state = click.make_pass_decorator(CLIState)


def pass_site(function: Callable[..., Any]) -> Callable[..., Any]:
    """Give a command the invocation's :class:`~kernel.site.Site` as its first argument (for plugins too)."""

    @functools.wraps(function)
    def with_site(*args: Any, **kwargs: Any) -> Any:
        state = click.get_current_context().find_object(CLIState)
        if state is None:
            raise click.UsageError("this command must run under 'crm'")
        return function(state.site(), *args, **kwargs)

    return with_site
