"""Every string the plugin's pages show has a Chinese translation (in its own catalog or the kernel's)."""

from __future__ import annotations

from pathlib import Path

from kernel import site_translations
from kernel.testing import read_catalog, translation_gaps

PLUGIN = Path(__file__).resolve().parents[1]
SOURCES = [*sorted(PLUGIN.rglob("*.py")), *sorted(PLUGIN.glob("templates/**/*.html"))]
ACTIVITY_KINDS = {"followup": ("Follow-up", "跟进"), "task": ("Task", "任务")}


def test_every_page_string_has_a_chinese_translation():
    gaps = translation_gaps(PLUGIN, SOURCES)
    assert len(gaps.messages) > 50
    assert gaps.missing == [], "add these to plugins/customers/locale/zh_CN/LC_MESSAGES/messages.po"
    assert gaps.placeholders_differ == [], "placeholders differ between English and Chinese"


def test_the_catalog_has_no_stale_entries():
    own = read_catalog(PLUGIN / "locale")
    used = translation_gaps(PLUGIN, SOURCES).messages
    stale = sorted(m.id if isinstance(m.id, str) else m.id[0] for m in own if m.id)
    assert [m for m in stale if m not in used and m not in ACTIVITY_KINDS] == []


def test_activity_kinds_read_well_in_both_languages(site):
    for kind, (english, chinese) in ACTIVITY_KINDS.items():
        assert site_translations(site, "en").gettext(kind) == english
        assert site_translations(site, "zh_CN").gettext(kind) == chinese
