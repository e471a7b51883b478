"""``crm plugin``: the plugin kit. ``new`` writes a plugin's skeleton, ``check`` runs the rules
every plugin must follow (:mod:`kernel.plugincheck`). Neither needs a database or ``crm.toml``."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

import click

from .. import pluginkit, plugincheck
from ..errors import CRMError
from ..i18n import counted
from ..plugins import installed_plugins
from .group import UserError
from .output import units


@click.group()
def plugin() -> None:
    """Write a new plugin and check one (for plugin developers)."""


@plugin.command("new")
@click.argument("name")
@click.option("--entity", help="The entity's name, plural snake_case (default: NAME plus s).")
@click.option("--label", help="The entity's singular English label (default: from the entity's name).")
@click.option("--label-zh", help="The entity's singular 简体中文 label (default: the English label).")
@click.option("--directory", "-d", type=click.Path(file_okay=False, path_type=Path), help="Where to write it (default: ./NAME).")
def plugin_new(name: str, entity: str | None, label: str | None, label_zh: str | None, directory: Path | None) -> None:
    """Write the skeleton of plugin NAME: a package with one entity, its migration branch,
    en/zh_CN catalogs and tests, registered through the crm.plugins entry point."""
    try:
        skeleton = pluginkit.skeleton_for(name, entity=entity, label=label, label_zh=label_zh)
        target = directory or Path(name)
        written = pluginkit.write_skeleton(skeleton, target)
    except CRMError as exc:
        raise UserError(str(exc)) from None
    click.echo(f"plugin {name} written to {target} ({counted(len(written), units('file', 'files'))}); next:")
    click.echo(f"  cd {target} && pip install -e . && pytest && crm plugin check .")


@plugin.command("check")
@click.argument("target")
def plugin_check(target: str) -> None:
    """Check the plugin at TARGET (a folder or an importable module): public-API imports only,
    hooks that exist, hook arguments the hook passes."""
    module, package, own = _locate(target)
    installed = installed_plugins()
    info_requires = tuple(getattr(module, "REQUIRES", ()) or ())
    required_modules = [
        _package_of(installed[name].module) for name in info_requires if name in installed and not _package_of(installed[name].module).startswith("plugins.")
    ]
    problems = plugincheck.package_offences(package, own, info_requires, required_modules)
    problems += plugincheck.hook_problems(module, plugincheck.offered_hookspecs(installed))
    for problem in problems:
        click.echo(problem)
    if problems:
        raise UserError(f"plugin {getattr(module, 'NAME', own)}: {counted(len(problems), units('problem', 'problems'))}")
    click.echo(f"plugin {module.NAME} ({own}): imports and hooks OK")


def _package_of(module: ModuleType) -> str:
    name = module.__name__
    return name if hasattr(module, "__path__") else name.rpartition(".")[0] or name


def _locate(target: str) -> tuple[ModuleType, Path, str]:
    """The plugin module, its package folder and the package's dotted name, from a path or a module name."""
    path = Path(target)
    if path.exists():
        package = _package_dir(path.resolve())
        own, root = _dotted(package)
        if str(root) not in sys.path:
            sys.path.insert(0, str(root))
        module_name = f"{own}.plugin" if (package / "plugin.py").is_file() else own
    else:
        module_name = target
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UserError(f"{target}: cannot import {module_name} ({exc})") from None
    if not path.exists():
        package = Path(module.__file__ or "").parent
        own = _package_of(module)
    return module, package, own


def _package_dir(path: Path) -> Path:
    if path.is_file():
        return path.parent
    if (path / "__init__.py").is_file():
        return path
    candidates = sorted(p.parent for p in path.glob("*/plugin.py") if (p.parent / "__init__.py").is_file())
    if len(candidates) != 1:
        raise UserError(f"{path}: expected a plugin package (a folder with __init__.py) or a project holding one, found {len(candidates)}")
    return candidates[0]


def _dotted(package: Path) -> tuple[str, Path]:
    """``("plugins.notes", /repo)`` for /repo/plugins/notes: the dotted name and the import root."""
    parts = [package.name]
    root = package.parent
    while (root / "__init__.py").is_file():
        parts.insert(0, root.name)
        root = root.parent
    return ".".join(parts), root
