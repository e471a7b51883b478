"""Every string the pools pages, reports and widgets show has a Chinese translation, with the same
placeholders; the Activity tab's ownership kinds read well in both languages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

from kernel import site_translations
from kernel.testing import KERNEL_LOCALE_DIR, catalog_path

PLUGIN = Path(__file__).resolve().parents[1]
PAGES = ["pages.py", "rules_page.py", "holdings_page.py", "history.py", "report_pages.py", "reports.py", "widgets.py", "access.py"]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
PLACEHOLDER = re.compile(r"%\((\w+)\)s")
KINDS = {"claim": ("Claim", "领取"), "assign": ("Assignment", "分配"), "release": ("Release", "释放"), "transfer": ("Transfer", "转移"), "return": ("Return", "退回")}


def catalog(root: Path):
    with catalog_path(root, "zh_CN").open("rb") as handle:
        return read_po(handle, locale="zh_CN")


def messages() -> set[str]:
    found = set()
    sources = [(PLUGIN / name, "python") for name in PAGES] + [(p, "jinja2") for p in sorted((PLUGIN / "templates" / "pools").glob("*.html"))]
    for path, method in sources:
        for _line, message, _comments, _context in extract_from_file(method, str(path), keywords=KEYWORDS):
            found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_page_string_has_a_chinese_translation():
    own, kernels = catalog(PLUGIN / "locale"), catalog(KERNEL_LOCALE_DIR)
    found = messages()
    assert len(found) > 80
    missing, wrong = [], []
    for key in sorted(found):
        entry = own.get(key) or kernels.get(key)
        translated = entry.string if entry is not None else None
        first = translated[0] if isinstance(translated, tuple) else translated
        if not first:
            missing.append(key)
        elif set(PLACEHOLDER.findall(key)) != set(PLACEHOLDER.findall(first)):
            wrong.append(key)
    assert missing == [], "add these to plugins/pools/locale/zh_CN/LC_MESSAGES/messages.po"
    assert wrong == [], "placeholders differ between English and Chinese"


@pytest.fixture
def site(make_site):
    from plugins.pools import plugin as pools_plugin

    from . import poolplugin

    return make_site(pools_plugin, poolplugin)


def test_ownership_kinds_read_well_in_both_languages(site):
    for kind, (english, chinese) in KINDS.items():
        assert site_translations(site, "en").gettext(kind) == english
        assert site_translations(site, "zh_CN").gettext(kind) == chinese
