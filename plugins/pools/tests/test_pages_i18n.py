"""Every string the pools pages, reports and widgets show has a Chinese translation, with the same
placeholders; the Activity tab's ownership kinds read well in both languages."""

from __future__ import annotations

from pathlib import Path

import pytest

from kernel import site_translations
from kernel.testing import translation_gaps

PLUGIN = Path(__file__).resolve().parents[1]
PAGES = ["pages.py", "rules_page.py", "holdings_page.py", "history.py", "report_pages.py", "reports.py", "widgets.py", "access.py"]
KINDS = {"claim": ("Claim", "领取"), "assign": ("Assignment", "分配"), "release": ("Release", "释放"), "transfer": ("Transfer", "转移"), "return": ("Return", "退回")}


def test_every_page_string_has_a_chinese_translation():
    gaps = translation_gaps(PLUGIN, [*(PLUGIN / name for name in PAGES), *sorted(PLUGIN.glob("templates/pools/*.html"))])
    assert len(gaps.messages) > 80
    assert gaps.missing == [], "add these to plugins/pools/locale/zh_CN/LC_MESSAGES/messages.po"
    assert gaps.placeholders_differ == [], "placeholders differ between English and Chinese"


@pytest.fixture
def site(make_site):
    from plugins.pools import plugin as pools_plugin

    from . import poolplugin

    return make_site(pools_plugin, poolplugin)


def test_ownership_kinds_read_well_in_both_languages(site):
    for kind, (english, chinese) in KINDS.items():
        assert site_translations(site, "en").gettext(kind) == english
        assert site_translations(site, "zh_CN").gettext(kind) == chinese
