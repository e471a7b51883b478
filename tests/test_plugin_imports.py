"""The rule lives in :mod:`kernel.plugincheck` (``crm plugin check`` runs it on any plugin).

A plugin imports only the public API: ``kernel`` (its ``__all__``), ``kernel.ui``, ``kernel.testing``
and the ``__all__`` of a plugin it requires. Every plugin package (its tests and migrations
included) and the example plugin are checked; a plugin's own modules are its own business.

One allowance: a plugin's tests may load the kernel's example plugin (``from tests.example
import plugin``) as a fixture, a second plugin to enable next to theirs; they use it only
through the site (its entity ``notes``), never its functions."""

from __future__ import annotations

import importlib
import pathlib

import pytest

from kernel import plugincheck

ROOT = pathlib.Path(__file__).resolve().parents[1]
PUBLIC_MODULES = plugincheck.PUBLIC_MODULES


def plugin_packages() -> dict[str, pathlib.Path]:
    """``{"plugins.customers": path, "tests.example": path, ...}``."""
    found = {f"plugins.{p.name}": p for p in sorted((ROOT / "plugins").iterdir()) if (p / "__init__.py").is_file()}
    found["tests.example"] = ROOT / "tests" / "example"
    return found


def offences(source: str, own: str, required: tuple[str, ...], where: str = "<source>") -> list[str]:
    return plugincheck.import_offences(source, own, required, where)


@pytest.mark.parametrize("package", sorted(plugin_packages()))
def test_a_plugin_imports_only_the_public_api(package):
    path = plugin_packages()[package]
    problems = plugincheck.package_offences(path, package, plugincheck.requires_in_source(path), root=ROOT)
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
