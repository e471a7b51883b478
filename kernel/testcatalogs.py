"""The check every plugin's i18n test makes: each message its code and templates mark has a
translation, in its own catalog or the kernel's, with the same ``%(name)s`` placeholders
(re-exported by :mod:`kernel.testing`)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NamedTuple

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

from .i18n import KERNEL_LOCALE_DIR, catalog_path

KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
PLACEHOLDER = re.compile(r"%\((\w+)\)s")
METHODS = {".py": "python", ".html": "jinja2"}


class TranslationGaps(NamedTuple):
    """What :func:`translation_gaps` found: every message, the untranslated ones and those whose
    translation has other placeholders (both sorted)."""

    messages: set[str]
    missing: list[str]
    placeholders_differ: list[str]


def read_catalog(locale_dir: Path, locale: str = "zh_CN") -> Catalog:
    """The ``messages.po`` catalog for ``locale`` under ``locale_dir`` (a plugin's ``locale/``)."""
    with catalog_path(locale_dir, locale).open("rb") as handle:
        return read_po(handle, locale=locale)


def marked_messages(sources: Iterable[Path]) -> set[str]:
    """The messages marked for translation (``_``, ``gettext``, ``ngettext``, ``N_``) in Python files
    and Jinja templates (``.py``, ``.html``); a plural's singular stands for it."""
    found = set()
    for path in sources:
        method = METHODS.get(path.suffix)
        if method is None:
            raise ValueError(f"sources: {path} is neither a .py nor an .html file")
        for _line, message, _comments, _context in extract_from_file(method, str(path), keywords=KEYWORDS):
            found.add(message if isinstance(message, str) else message[0])
    return found


def translation_gaps(plugin_dir: Path, sources: Iterable[Path], locale: str = "zh_CN") -> TranslationGaps:
    """Check the messages of ``sources`` against ``plugin_dir/locale`` then the kernel's catalog.

    ``gaps = translation_gaps(PLUGIN, [*PLUGIN.glob("*.py"), *PLUGIN.glob("templates/acme/*.html")])``,
    then ``assert gaps.missing == []`` and ``assert gaps.placeholders_differ == []``.
    """
    own, kernels = read_catalog(plugin_dir / "locale", locale), read_catalog(KERNEL_LOCALE_DIR, locale)
    messages = marked_messages(sources)
    missing, differ = [], []
    for key in sorted(messages):
        entry: Any = own.get(key) or kernels.get(key)
        translated = entry.string if entry is not None else None
        first = translated[0] if isinstance(translated, tuple) else translated
        if not first:
            missing.append(key)
        elif set(PLACEHOLDER.findall(key)) != set(PLACEHOLDER.findall(first)):
            differ.append(key)
    return TranslationGaps(messages, missing, differ)
