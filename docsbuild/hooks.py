"""MkDocs hooks (``hooks:`` in ``mkdocs.yml``): pages generated at build time, offline.

* ``developers/hooks.md``: the hook reference (:func:`docsbuild.reference.hook_reference`);
* ``plugins/NAME.md``: each plugin's own ``plugins/NAME/README.md``, with links into the
  repository's README or docs rewritten to the site's pages.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from mkdocs.structure.files import File, Files  # noqa: E402

from docsbuild.reference import hook_reference, plugin_readmes  # noqa: E402


def plugin_page(text: str) -> str:
    """A plugin README as a page under ``plugins/``: repository-relative links made site-relative."""

    def link(match: re.Match[str]) -> str:
        label, url = match.group(1), match.group(2)
        url = re.sub(r"^(\.\./)+README\.md", "../index.md", url)
        url = re.sub(r"^(\.\./)+docs/", "../", url)
        url = re.sub(r"^(\.\./)+plugins/(\w+)/README\.md", r"\2.md", url)
        url = re.sub(r"^\.\./(\w+)/README\.md", r"\1.md", url)
        return f"[{label}]({url})"

    return re.sub(r"\[([^\]]*)\]\(([^)\s]+)\)", link, text)


def on_files(files: Files, config: Any) -> Files:
    files.append(File.generated(config, "developers/hooks.md", content=hook_reference()))
    for name, readme in plugin_readmes(ROOT).items():
        files.append(File.generated(config, f"plugins/{name}.md", content=plugin_page(readme.read_text(encoding="utf-8"))))
    return files
