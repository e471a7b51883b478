"""The rules a plugin must follow, checked on its source and its module: ``crm plugin check`` and the
kernel's own tests (``tests/test_plugin_imports.py``, ``tests/test_plugin_kit.py``) share them.

* **Imports**: a plugin imports only the public API: ``kernel`` (its ``__all__``), ``kernel.ui``,
  ``kernel.testing`` and the ``__all__`` of a plugin listed in its ``REQUIRES``; its own modules are
  its own business. One allowance: a plugin's tests may load the kernel's example plugin
  (``from tests.example import plugin``) as a second plugin to enable next to theirs.
* **Hooks**: every ``@hookimpl`` names a hook of the kernel (:mod:`kernel.hookspecs`) or one a
  required plugin offers (its ``HOOKSPECS``), and takes only arguments that hook passes.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import pluggy

from . import hookspecs

PUBLIC_MODULES = ("kernel", "kernel.ui", "kernel.testing")
#: the one private import a plugin's tests may make: the kernel's example plugin, as a fixture
EXAMPLE_FIXTURE = ("tests.example", ["plugin"])
#: top-level packages that hold the kernel or plugins shipped with it
FOREIGN_TOPS = ("kernel", "plugins", "tests")


def public_names(module: str) -> set[str]:
    """The ``__all__`` of ``module``."""
    return set(importlib.import_module(module).__all__)


def requires_in_source(package: Path) -> tuple[str, ...]:
    """The plugin's ``REQUIRES``, read from the source of ``package`` without importing it."""
    for path in sorted(package.rglob("*.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            target = node.target if isinstance(node, ast.AnnAssign) else (node.targets[0] if isinstance(node, ast.Assign) else None)
            if isinstance(target, ast.Name) and target.id == "REQUIRES" and node.value is not None:
                return tuple(ast.literal_eval(node.value))
    return ()


def import_offences(
    source: str, own: str, required: Iterable[str], where: str = "<source>", required_modules: Iterable[str] = ()
) -> list[str]:
    """Each import (or ``kernel.X`` attribute) in ``source`` that is not public API for package ``own``.

    ``required`` names the plugins ``own`` requires (their public module is ``plugins.NAME``);
    ``required_modules`` adds public modules of required third-party plugins (``acme_crm``).
    """
    found = []
    tree = ast.parse(source)
    in_tests = "/tests/" in where.replace("\\", "/")
    allowed = {f"plugins.{name}" for name in required} | set(required_modules)
    imports_kernel = any(isinstance(n, ast.Import) and any(a.name.split(".")[0] == "kernel" for a in n.names) for n in ast.walk(tree))
    for node in ast.walk(tree):
        line = f"{where}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [a.name for a in node.names]
            found += [f"{line}: {problem}" for problem in _from_import(node.module, names, own, allowed, in_tests)]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if _foreign(alias.name, own, allowed) and alias.name not in PUBLIC_MODULES and alias.name not in allowed:
                    found.append(f"{line}: import {alias.name}")
        elif imports_kernel and isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "kernel":
            if node.attr not in public_names("kernel") | {"ui", "testing"}:
                found.append(f"{line}: kernel.{node.attr}")
    return found


def _foreign(module: str, own: str, allowed: set[str]) -> bool:
    """Whether ``module`` is the kernel's or another plugin's (the stdlib or a library is free)."""
    if module == own or module.startswith(own + "."):
        return False
    top = module.split(".")[0]
    return top in FOREIGN_TOPS or any(module == m or module.startswith(m + ".") for m in allowed)


def _from_import(module: str, names: list[str], own: str, allowed: set[str], in_tests: bool) -> list[str]:
    if not _foreign(module, own, allowed) or (in_tests and (module, names) == EXAMPLE_FIXTURE):
        return []
    if module in PUBLIC_MODULES or module in allowed:
        public = public_names(module)
        return [f"from {module} import {name}" for name in names if name not in public]
    return [f"from {module} import {', '.join(names)}"]


def package_offences(package: Path, own: str, required: Iterable[str] = (), required_modules: Iterable[str] = (), root: Path | None = None) -> list[str]:
    """:func:`import_offences` of every ``.py`` file under ``package`` (its tests and migrations included)."""
    base = root or package.parent
    required = tuple(required)
    return [
        problem
        for path in sorted(package.rglob("*.py"))
        for problem in import_offences(path.read_text(encoding="utf-8"), own, required, _shown(path, base), required_modules)
    ]


def _shown(path: Path, base: Path) -> str:
    try:
        return path.relative_to(base).as_posix()
    except ValueError:
        return path.as_posix()


def hook_problems(module: ModuleType | Any, offered: Mapping[str, Any] | None = None) -> list[str]:
    """What is wrong with ``module``'s hook implementations, as sentences (empty when nothing).

    ``offered`` maps each plugin ``module`` requires to the ``HOOKSPECS`` it offers (``None`` when
    it offers none); a requirement missing from it is reported. The module's own ``HOOKSPECS``
    count too (a plugin may implement the hooks it offers).
    """
    problems = []
    name = getattr(module, "NAME", None)
    if not isinstance(name, str) or not name.isidentifier():
        problems.append(f"NAME must be the plugin's name, a Python identifier (found {name!r})")
    requires = getattr(module, "REQUIRES", ())
    if not isinstance(requires, (tuple, list)) or not all(isinstance(r, str) for r in requires):
        problems.append(f"REQUIRES must be a tuple of plugin names (found {requires!r})")
        requires = ()
    offered = dict(offered or {})
    pm = pluggy.PluginManager("crm")
    pm.add_hookspecs(hookspecs)
    for required in requires:
        if required not in offered:
            problems.append(f"requires plugin {required!r}, which is not installed")
        elif offered[required] is not None:
            pm.add_hookspecs(offered[required])
    if getattr(module, "HOOKSPECS", None) is not None:
        pm.add_hookspecs(module.HOOKSPECS)
    for attr in sorted(dir(module)):
        function = getattr(module, attr, None)
        if not callable(function) or getattr(function, "crm_impl", None) is None:
            continue
        hook_name = function.crm_impl.get("specname") or attr
        caller = getattr(pm.hook, hook_name, None)
        spec = caller.spec if caller is not None else None
        if spec is None and function.crm_impl.get("optionalhook"):
            continue  # a hook of a plugin that may be absent (``@hookimpl(optionalhook=True)``)
        if spec is None:
            problems.append(f"{attr}: no hook named {hook_name!r} in kernel.hookspecs or the HOOKSPECS of a required plugin")
            continue
        extra = [arg for arg in _argnames(function) if arg not in spec.argnames]
        if extra:
            problems.append(f"{attr}: takes {', '.join(extra)}, which hook {hook_name!r} does not pass (it passes: {', '.join(spec.argnames) or 'nothing'})")
    return problems


def _argnames(function: Any) -> list[str]:
    """The arguments an implementation needs (those without a default), as pluggy reads them."""
    parameters = inspect.signature(function).parameters.values()
    return [p.name for p in parameters if p.default is inspect.Parameter.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]


def offered_hookspecs(installed: Mapping[str, Any]) -> dict[str, Any]:
    """``{plugin name: its HOOKSPECS or None}`` for every installed plugin (``PluginInfo`` values)."""
    return {name: getattr(info.module, "HOOKSPECS", None) for name, info in installed.items()}
