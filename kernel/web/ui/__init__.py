"""The browser UI: server-rendered Jinja2 pages with htmx, built from entity metadata.

:func:`mount_ui` adds it to the web app. Every page reads the site's current
view, so plugins and custom fields appear and vanish without a restart. A
plugin's own pages (``register_pages``) use :func:`render`, :func:`ui_of` and
:func:`check_form`.
"""

from .pages import check_form, render, ui_of
from .routes import mount_ui, ui_routes

__all__ = ["check_form", "mount_ui", "render", "ui_of", "ui_routes"]
