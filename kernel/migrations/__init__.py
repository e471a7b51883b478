"""Alembic, driven from code: one environment, one branch per plugin.

The kernel's revisions carry the branch label ``core``; each plugin returns its
own versions directory from ``register_migrations`` and labels its first
revision with its name, ``depends_on`` the kernel's first revision. Upgrading
goes branch by branch (``core@head``, then each enabled plugin's), so a
disabled plugin's tables are neither created nor dropped.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

if TYPE_CHECKING:
    import sqlalchemy as sa

    from ..site import Site

HERE = Path(__file__).parent
KERNEL_BRANCH = "core"


def version_locations(site: Site) -> dict[str, str]:
    """Each installed plugin's versions directory, by plugin name (``core`` is the kernel's)."""
    from ..plugins import make_plugin_manager

    pm = make_plugin_manager(site.installed.values())
    found = {impl.plugin_name: impl.function() for impl in pm.hook.register_migrations.get_hookimpls()}
    return {name: str(path) for name, path in found.items() if path}


def alembic_config(site: Site, conn: sa.Connection, *, table_prefix: str | None = None, branches: set[str] | None = None) -> Config:
    """The Alembic configuration over every installed plugin's versions (or only ``branches``')."""
    config = Config()
    config.set_main_option("script_location", str(HERE))
    locations = version_locations(site)
    if branches is not None:
        locations = {name: path for name, path in locations.items() if name in branches}
    config.set_main_option("version_locations", " ".join(locations.values()))
    config.set_main_option("path_separator", "space")
    config.attributes["connection"] = conn
    config.attributes["site"] = site  # for data migrations that need the installed plugins' entities (0012)
    config.attributes["table_prefix"] = table_prefix
    return config


def upgrade(site: Site, plugins: list[str] | None = None) -> list[str]:
    """Upgrade the kernel and ``plugins`` (default: every enabled one) to their heads.

    Returns the branches that were upgraded.
    """
    from ..site import NotInitialized

    if plugins is None:
        try:
            plugins = list(site.refresh(force=True).enabled)
        except NotInitialized:
            plugins = list(site.default_enabled)
    with site.engine.connect() as conn:
        labels = branch_labels(alembic_config(site, conn))
    branches = [KERNEL_BRANCH, *(name for name in plugins if name != KERNEL_BRANCH and name in labels)]
    for branch in branches:
        with site.write() as conn:
            command.upgrade(alembic_config(site, conn), f"{branch}@head")
    from ..search import index_missing

    index_missing(site, branches)  # the branches just brought up to date: their tables match their models
    return branches


def revision(site: Site, plugin: str, message: str) -> None:
    """Autogenerate the next revision of ``plugin``'s branch from its models (for plugin authors).

    Tables are matched by name: the kernel's start with ``kernel_``, a plugin's
    with its name and an underscore.
    """
    locations = version_locations(site)
    if plugin not in locations:
        raise ValueError(f"plugin {plugin!r} returns no migrations directory from register_migrations")
    upgrade(site, [plugin])
    prefix = "kernel_" if plugin == KERNEL_BRANCH else f"{plugin}_"
    with site.write() as conn:
        # autogenerate needs the database at the heads of every branch it sees: show it the
        # branches this database holds (plus the kernel's and the plugin's), not every installed one
        branches = applied_branches(alembic_config(site, conn), conn) | {KERNEL_BRANCH, plugin}
        config = alembic_config(site, conn, table_prefix=prefix, branches=branches)
        if plugin in branch_labels(config):
            command.revision(config, message=message, autogenerate=True, head=f"{plugin}@head", version_path=locations[plugin])
        else:
            command.revision(
                config,
                message=message,
                autogenerate=True,
                head="base",
                branch_label=plugin,
                version_path=locations[plugin],
                depends_on=None if plugin == KERNEL_BRANCH else KERNEL_BRANCH,
            )


def applied_branches(config: Config, conn: sa.Connection) -> set[str]:
    """The branch labels of the revisions the database is at, and of those below them."""
    from alembic.migration import MigrationContext

    heads = MigrationContext.configure(conn).get_current_heads()
    script = ScriptDirectory.from_config(config)
    return {label for rev in script.iterate_revisions(heads, "base") for label in rev.branch_labels or ()}


def branch_labels(config: Config) -> set[str]:
    """The branch labels that have at least one revision."""
    script = ScriptDirectory.from_config(config)
    return {label for rev in script.walk_revisions() for label in rev.branch_labels or ()}


def pending(site: Site) -> list[str]:
    """The enabled branches (``core`` first) whose latest revision is not applied yet."""
    from alembic.migration import MigrationContext

    enabled = [KERNEL_BRANCH, *(name for name in site.refresh(force=True).enabled if name != KERNEL_BRANCH)]
    with site.engine.connect() as conn:
        script = ScriptDirectory.from_config(alembic_config(site, conn))
        current = MigrationContext.configure(conn).get_current_heads()
        applied = {rev.revision for rev in script.iterate_revisions(current, "base")} if current else set()
        labels = branch_labels(alembic_config(site, conn))
        return [
            branch
            for branch in enabled
            if branch in labels and script.get_revision(f"{branch}@head").revision not in applied
        ]
