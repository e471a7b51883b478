"""The UI's Jinja2 environment: kernel templates, plugin overrides, ``kernel:`` references.

A template is looked up first in the enabled plugins' template directories
(from ``register_template_dirs``), then in the kernel's. ``kernel:NAME`` always
means the kernel's own file, so a plugin can override ``list.html`` (or only
``notes/list.html``, for one entity) and still extend the original::

    {% extends "kernel:list.html" %}
    {% block list_intro %}<p>…</p>{% endblock %}

One environment is built per registry version: enabling or disabling a plugin
swaps its templates in or out without a restart, and its files
(:mod:`kernel.web.assets`: ``plugin_links`` for the page head, ``asset_url()``).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from markupsafe import Markup
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PrefixLoader, StrictUndefined, select_autoescape

from ...i18n import pick, pick_counted
from .. import assets
from .display import TYPED_WIDGETS

if TYPE_CHECKING:
    from ...site import View

KERNEL_TEMPLATES = Path(__file__).resolve().parents[1] / "templates"


def plugin_template_dirs(view: View) -> list[Path]:
    """Every enabled plugin's template directories, later plugins first (so they override earlier ones)."""
    found: list[Path] = []
    for batch in view.pm.hook.register_template_dirs():
        for entry in batch or ():
            path = Path(entry)
            if not path.is_dir():
                raise ValueError(f"register_template_dirs returned {entry!r}, which is not a directory")
            found.append(path)
    return found


def build_environment(view: View) -> Environment:
    kernel = FileSystemLoader(KERNEL_TEMPLATES)
    loader = ChoiceLoader(
        [
            PrefixLoader({"kernel": kernel}, delimiter=":"),
            FileSystemLoader([str(p) for p in plugin_template_dirs(view)]),
            kernel,
        ]
    )
    env = Environment(
        loader=loader,
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True, default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pick"] = pick
    env.filters["pick_counted"] = pick_counted
    env.filters["safe_json"] = safe_json
    env.globals["plugin_links"] = assets.page_links(view)
    env.globals["asset_url"] = assets.url_function(view)
    env.globals["typed_widgets"] = TYPED_WIDGETS  # their values are user data, marked translate="no"
    return env


def safe_json(text: str) -> Markup:
    """JSON text made safe inside ``<script type="application/json">`` (no ``</script>``, no ``&``)."""
    return Markup(text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e"))


class Templates:
    """The environment for the site's current view, rebuilt when the registry version changes."""

    def __init__(self) -> None:
        self._built: tuple[int, Environment] | None = None
        self._lock = threading.Lock()

    def environment(self, view: View) -> Environment:
        built = self._built
        if built is not None and built[0] == view.version:
            return built[1]
        with self._lock:
            env = build_environment(view)
            self._built = (view.version, env)
            return env

    def render(self, view: View, names: str | list[str], context: dict[str, Any]) -> str:
        env = self.environment(view)
        template = env.get_template(names) if isinstance(names, str) else env.select_template(names)
        return template.render(context)
