"""Test helpers: the plugins the pipeline needs.

``customers`` is loaded by name, as the site loads installed plugins: the pipeline's tests use it only
through the site (entities, hooks, pages), never its modules' functions.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from kernel import Actor

SYSTEM = Actor.system("cli")


def required_plugins() -> tuple[ModuleType, ...]:
    """The plugin module of ``customers`` (the pipeline's ``REQUIRES``), then the pipeline's own."""
    return tuple(importlib.import_module(f"plugins.{name}.plugin") for name in ("customers", "pipeline"))
