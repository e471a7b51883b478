"""Files a plugin ships beside its code (stylesheets, scripts, images), served under versioned URLs.

A plugin keeps them in a ``static/`` folder next to its module
(``plugins/notes/static/`` for ``plugins/notes/plugin.py``). While the plugin
is enabled they are served at ``/static/plugins/NAME/VERSION/PATH``, where
``VERSION`` is a digest of the folder's file names, sizes and modification
times: a changed file gets a new URL, so a browser may keep each one for a year
without asking again. A disabled plugin's files answer 404.

Two names are linked from every page on their own: ``plugin.css`` and
``plugin.js`` at the top of the folder. Templates reach any other file with
``{{ asset_url("notes", "img/logo.png") }}``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.responses import FileResponse, PlainTextResponse
from starlette.types import Receive, Scope, Send

if TYPE_CHECKING:
    from ...site import Site, View

PREFIX = "/static/plugins"
FOLDER = "static"
STYLESHEET, SCRIPT = "plugin.css", "plugin.js"
LONG_CACHE = "public, max-age=31536000, immutable"


@dataclass(frozen=True)
class Assets:
    """One plugin's ``static/`` folder and the version its URLs carry."""

    plugin: str
    folder: Path
    version: str

    def url(self, path: str) -> str:
        return f"{PREFIX}/{self.plugin}/{self.version}/{path}"


def plugin_folder(module: Any) -> Path | None:
    """The ``static/`` folder beside a plugin's module, or ``None`` when it has none."""
    source = getattr(module, "__file__", None)
    folder = Path(source).resolve().parent / FOLDER if source else None
    return folder if folder is not None and folder.is_dir() else None


@cache
def _assets_of(plugin: str, folder: Path) -> Assets:
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        stat = path.stat()
        digest.update(f"{path.relative_to(folder)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return Assets(plugin, folder, digest.hexdigest()[:12])


def enabled_assets(view: View) -> dict[str, Assets]:
    """The enabled plugins that ship files, by name, in plugin order."""
    found = {}
    for name in view.enabled:
        folder = plugin_folder(view.pm.get_plugin(name))
        if folder is not None:
            found[name] = _assets_of(name, folder)
    return found


def page_links(view: View) -> dict[str, list[str]]:
    """The ``plugin.css`` and ``plugin.js`` URLs every page links, for the enabled plugins that have them."""
    shipped = enabled_assets(view).values()
    return {
        "stylesheets": [a.url(STYLESHEET) for a in shipped if (a.folder / STYLESHEET).is_file()],
        "scripts": [a.url(SCRIPT) for a in shipped if (a.folder / SCRIPT).is_file()],
    }


def url_function(view: View) -> Any:
    """``asset_url(plugin, path)`` for templates: a file's versioned URL (an unknown plugin is an error)."""
    shipped = enabled_assets(view)

    def asset_url(plugin: str, path: str) -> str:
        if plugin not in shipped:
            raise ValueError(f"plugin {plugin!r} is not enabled or ships no {FOLDER}/ folder")
        return shipped[plugin].url(path)

    return asset_url


class PluginAssets:
    """ASGI app mounted at :data:`PREFIX`: an enabled plugin's file, long-cached when its version is current."""

    def __init__(self, site: Site):
        self.site = site

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        plugin, _, rest = scope["path"].removeprefix(PREFIX).lstrip("/").partition("/")
        version, _, path = rest.partition("/")
        assets = enabled_assets(self.site.view).get(plugin)
        target = _inside(assets.folder, path) if assets is not None and path else None
        if assets is None or target is None or scope["method"] not in ("GET", "HEAD"):
            await PlainTextResponse("not found", status_code=404)(scope, receive, send)
            return
        cache_control = LONG_CACHE if version == assets.version else "no-cache"  # an old page's URL still works
        await FileResponse(target, headers={"Cache-Control": cache_control})(scope, receive, send)


def _inside(folder: Path, path: str) -> Path | None:
    """``folder/path`` when it is a file inside ``folder`` (no ``..``, no symlink out), else ``None``."""
    target = (folder / path).resolve()
    return target if target.is_relative_to(folder) and target.is_file() else None
