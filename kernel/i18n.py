"""Translations and locale-aware formatting: the web UI, imports, exports and mail use them.

The kernel's catalog lives in ``kernel/locale/LANG/LC_MESSAGES/messages.po``;
a plugin ships its own in ``<plugin package>/locale/LANG/LC_MESSAGES/messages.po``.
Catalogs are compiled in memory from the ``.po`` text the first time a locale
is used (a few milliseconds), so a plain ``pip install -e .`` works and no
compiled ``.mo`` file can drift from its source. English is the source
language: it needs no catalog.

Labels stored as data (entity labels, custom field labels, action labels) are
``{"en": ..., "zh_CN": ...}`` dicts and are picked with :func:`pick`.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from babel import Locale, dates, numbers
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

from .settings import LOCALES

if TYPE_CHECKING:
    from .site import Site, View

KERNEL_LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "messages"
CURRENCY = "CNY"
#: What the language switch offers, in its own language.
LANGUAGE_NAMES = {"zh_CN": "简体中文", "en": "English"}

_cache: dict[tuple[str, tuple[str, ...]], NullTranslations] = {}
_lock = threading.Lock()


def compile_po(path: Path, locale: str) -> Translations:
    """Compile one ``.po`` file to gettext translations in memory."""
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=locale, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


def catalog_path(root: Path, locale: str) -> Path:
    """Where the ``.po`` catalog of ``locale`` lives under a ``locale`` directory ``root``."""
    return root / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


def translations(locale: str, plugin_dirs: Iterable[Path] = ()) -> NullTranslations:
    """The kernel's catalog for ``locale`` with each plugin's merged in (plugins win on clashes)."""
    dirs = tuple(str(d) for d in plugin_dirs)
    key = (locale, dirs)
    found = _cache.get(key)
    if found is not None:
        return found
    with _lock:
        merged: NullTranslations = NullTranslations()
        kernel_po = catalog_path(KERNEL_LOCALE_DIR, locale)
        if kernel_po.exists():
            merged = compile_po(kernel_po, locale)
        for root in dirs:
            po = catalog_path(Path(root), locale)
            if po.exists():
                extra = compile_po(po, locale)
                merged = extra if not isinstance(merged, Translations) else merged.merge(extra)
        _cache[key] = merged
        return merged


def plugin_locale_dirs(view: View) -> list[Path]:
    """The ``locale`` directory next to each enabled plugin's module, where there is one."""
    dirs = []
    for name in view.enabled:
        module = view.pm.get_plugin(name)
        origin = getattr(module, "__file__", None)
        if origin:
            candidate = Path(origin).parent / "locale"
            if candidate.is_dir():
                dirs.append(candidate)
    return dirs


def site_translations(site: Site, locale: str) -> NullTranslations:
    """The catalog for ``locale`` (``"en"`` or ``"zh_CN"``): the kernel's with every enabled plugin's merged in.

    ``site_translations(site, "zh_CN").gettext("Task")`` → ``"任务"``; for text a plugin
    shows outside a page (a reminder email, say). Pages have ``ui_of(request).gettext``.
    """
    return translations(locale, plugin_locale_dirs(site.view))


def normal_locale(value: Any, default: str) -> str:
    """``value`` if it is a supported locale (``zh-CN`` is accepted for ``zh_CN``), else ``default``."""
    text = str(value or "").replace("-", "_")
    return text if text in LOCALES else default


def _chosen(labels: dict[str, Any], locale: str) -> Any:
    """The one locale fallback of stored labels: ``locale``'s label, else English, else the first
    the dict has (``None`` when it has none); an empty label counts as missing."""
    return labels.get(locale) or labels.get("en") or next(iter(labels.values()), None)


def pick(labels: Any, locale: str, fallback: str = "") -> str:
    """The label for ``locale`` from a ``{"en": ..., "zh_CN": ...}`` dict: that locale's, else
    English, else the first there is, else ``fallback``. A string is its own label."""
    if isinstance(labels, str):
        return labels
    if not isinstance(labels, dict):
        return fallback
    return str(_chosen(labels, locale) or fallback)


def pick_counted(labels: Any, locale: str, count: Any) -> str:
    """:func:`pick`, where a locale's label may name its plural forms by CLDR category —
    ``{"en": {"one": "record", "other": "records"}, "zh_CN": "条记录"}`` — the one for ``count`` in that locale.

    The label is chosen as :func:`pick` chooses it (``locale``, else English, else the first); its
    form follows ``locale``'s plural rules (``other`` when ``count`` is not a number or the form is missing)."""
    if not isinstance(labels, dict):
        return pick(labels, locale)
    chosen = _chosen(labels, locale)
    if isinstance(chosen, dict):
        form = Locale.parse(locale).plural_form(abs(count)) if isinstance(count, int | float | Decimal) else "other"
        return str(chosen.get(form) or chosen.get("other") or "")
    return str(chosen or "")


def counted(count: Any, unit: Any, locale: str = "en") -> str:
    """``count`` and its unit as they read in a sentence of ``locale``: with ``unit = {"en": {"one": "Note",
    "other": "Notes"}, "zh_CN": "笔记"}`` (an entity's :attr:`~kernel.entities.Entity.unit`), ``counted(1, unit)``
    is ``"1 note"``, ``counted(3, unit)`` ``"3 notes"``, ``counted(3, unit, "zh_CN")`` ``"3 笔记"`` and
    ``counted(2100, unit)`` ``"2,100 notes"`` (digits grouped as ``locale`` groups them).

    The form is :func:`pick_counted`'s (CLDR's plural rule of ``locale``), put :func:`in_sentence`."""
    number = numbers.format_decimal(count, locale=locale) if isinstance(count, int) else count
    return f"{number} {in_sentence(pick_counted(unit, locale, count))}"


def in_sentence(label: str) -> str:
    """A label as it reads inside a sentence: its capital lowered (``Follow-ups`` → ``follow-ups``), unless
    its first word is an abbreviation (``SMS templates``, ``IDs``)."""
    if len(label) > 1 and label[1].isupper():
        return label
    return label[:1].lower() + label[1:]


class Formatter:
    """Dates, times, numbers and money for one locale and time zone."""

    def __init__(self, locale: str, tzinfo: Any = None):
        self.locale = Locale.parse(locale)
        self.tzinfo = tzinfo

    def date(self, value: Any) -> str:
        if value in (None, ""):
            return ""
        if isinstance(value, str):
            value = date.fromisoformat(value[:10])
        if isinstance(value, datetime):
            value = value.date()
        return dates.format_date(value, format="medium", locale=self.locale)

    def datetime(self, value: Any) -> str:
        if value in (None, ""):
            return ""
        if isinstance(value, str):
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return dates.format_datetime(value, format="medium", tzinfo=self.tzinfo, locale=self.locale)

    def number(self, value: Any) -> str:
        if value in (None, ""):
            return ""
        return numbers.format_decimal(Decimal(str(value)), locale=self.locale)

    def money(self, value: Any, currency: str = CURRENCY) -> str:
        if value in (None, ""):
            return ""
        return numbers.format_currency(Decimal(str(value)), currency, locale=self.locale)
