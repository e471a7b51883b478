"""Every string the pipeline's pages show has a Chinese translation with the same placeholders."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

from kernel.testing import KERNEL_LOCALE_DIR, catalog_path

PLUGIN = Path(__file__).resolve().parents[1]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def catalog(root: Path, locale: str = "zh_CN"):
    with catalog_path(root, locale).open("rb") as handle:
        return read_po(handle, locale=locale)


def messages() -> set[str]:
    sources = [(PLUGIN / name, "python") for name in ("pages.py", "editor.py")]
    sources += [(p, "jinja2") for p in sorted((PLUGIN / "templates" / "pipeline").glob("*.html"))]
    found = set()
    for path, method in sources:
        for _line, message, _comments, _context in extract_from_file(method, str(path), keywords=KEYWORDS):
            found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_string_has_a_chinese_translation():
    found = messages()
    assert len(found) > 40
    own, kernels = catalog(PLUGIN / "locale"), catalog(KERNEL_LOCALE_DIR)
    missing = [k for k in sorted(found) if not ((own.get(k) or kernels.get(k)) and (own.get(k) or kernels.get(k)).string)]
    assert missing == [], "add these to plugins/pipeline/locale/zh_CN/LC_MESSAGES/messages.po"
    wrong = [k for k in found if own.get(k) and set(PLACEHOLDER.findall(k)) != set(PLACEHOLDER.findall(own.get(k).string))]
    assert wrong == []
