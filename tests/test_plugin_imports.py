"""A plugin imports only the public API: ``kernel`` (its ``__all__``), ``kernel.ui``, ``kernel.testing``
and the ``__all__`` of a plugin it requires. Every plugin package (its tests and migrations
included) and the example plugin are checked; a plugin's own modules are its own business.

One allowance: a plugin's tests may load the kernel's example plugin (``from tests.example
import plugin``) as a fixture, a second plugin to enable next to theirs; they use it only
through the site (its entity ``notes``), never its functions."""

from __future__ import annotations

import ast
import importlib
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PUBLIC_MODULES = ("kernel", "kernel.ui", "kernel.testing")


def plugin_packages() -> dict[str, pathlib.Path]:
    """``{"plugins.customers": path, "tests.example": path, ...}``."""
    found = {f"plugins.{p.name}": p for p in sorted((ROOT / "plugins").iterdir()) if (p / "__init__.py").is_file()}
    found["tests.example"] = ROOT / "tests" / "example"
    return found


def requires(package: pathlib.Path) -> tuple[str, ...]:
    """The plugin's ``REQUIRES``, read from its source."""
    for path in package.rglob("*.py"):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            target = node.target if isinstance(node, ast.AnnAssign) else (node.targets[0] if isinstance(node, ast.Assign) else None)
            if isinstance(target, ast.Name) and target.id == "REQUIRES" and node.value is not None:
                return tuple(ast.literal_eval(node.value))
    return ()


def public_names(module: str) -> set[str]:
    return set(importlib.import_module(module).__all__)


def offences(source: str, own: str, required: tuple[str, ...], where: str = "<source>") -> list[str]:
    """Each import (or ``kernel.X`` attribute) in ``source`` that is not public API for package ``own``."""
    found = []
    tree = ast.parse(source)
    in_tests = "/tests/" in where
    imports_kernel = any(isinstance(n, ast.Import) and any(a.name.split(".")[0] == "kernel" for a in n.names) for n in ast.walk(tree))
    for node in ast.walk(tree):
        line = f"{where}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [a.name for a in node.names]
            found += [f"{line}: {problem}" for problem in _from_import(node.module, names, own, required, in_tests)]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if _foreign(alias.name, own) and alias.name not in PUBLIC_MODULES:
                    found.append(f"{line}: import {alias.name}")
        elif imports_kernel and isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "kernel":
            if node.attr not in public_names("kernel") | {"ui", "testing"}:
                found.append(f"{line}: kernel.{node.attr}")
    return found


def _foreign(module: str, own: str) -> bool:
    """Whether ``module`` is the kernel's or another plugin's (anything else, the stdlib or a library, is free)."""
    top = module.split(".")[0]
    return (top == "kernel" or top in ("plugins", "tests")) and not (module == own or module.startswith(own + "."))


EXAMPLE_FIXTURE = ("tests.example", ["plugin"])


def _from_import(module: str, names: list[str], own: str, required: tuple[str, ...], in_tests: bool = False) -> list[str]:
    if not _foreign(module, own) or (in_tests and (module, names) == EXAMPLE_FIXTURE):
        return []
    if module in PUBLIC_MODULES:
        public = public_names(module)
        return [f"from {module} import {name}" for name in names if name not in public]
    parts = module.split(".")
    if parts[0] == "plugins" and len(parts) == 2 and parts[1] in required:
        public = public_names(module)
        return [f"from {module} import {name}" for name in names if name not in public]
    return [f"from {module} import {', '.join(names)}"]


@pytest.mark.parametrize("package", sorted(plugin_packages()))
def test_a_plugin_imports_only_the_public_api(package):
    path = plugin_packages()[package]
    required = tuple(f"{name}" for name in requires(path))
    problems = [
        problem
        for module in sorted(path.rglob("*.py"))
        for problem in offences(module.read_text(encoding="utf-8"), package, required, str(module.relative_to(ROOT)))
    ]
    assert problems == []


def test_the_check_catches_private_imports():
    source = """
import kernel
import kernel.db
from kernel import Actor, audit
from kernel.web.ui import render
from kernel.ui import render, show
from kernel.testing import make_site
from plugins.customers.dedupe import lookalikes
from plugins.customers import customer_timeline
from .models import Note
import sqlalchemy as sa
x = kernel.db.UTCDateTime
y = kernel.Actor
"""
    assert [p.split(": ", 1)[1] for p in offences(source, "plugins.notes", ())] == [
        "import kernel.db",
        "from kernel import audit",
        "from kernel.web.ui import render",
        "from plugins.customers.dedupe import lookalikes",
        "from plugins.customers import customer_timeline",
        "kernel.db",
    ]
    assert offences("from plugins.customers import customer_timeline", "plugins.notes", ("customers",)) == []
    assert offences("from plugins.customers import merge", "plugins.notes", ("customers",))


def test_every_public_name_is_documented():
    undocumented = []
    for module in PUBLIC_MODULES:
        imported = importlib.import_module(module)
        for name in imported.__all__:
            value = getattr(imported, name)
            if (callable(value) or isinstance(value, type)) and not (getattr(value, "__doc__", None) or "").strip():
                undocumented.append(f"{module}.{name}")
    assert undocumented == []
