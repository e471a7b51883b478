"""Every string the pipeline's pages show has a Chinese translation with the same placeholders."""

from __future__ import annotations

from pathlib import Path

from kernel.testing import translation_gaps

PLUGIN = Path(__file__).resolve().parents[1]


def test_every_string_has_a_chinese_translation():
    gaps = translation_gaps(PLUGIN, [PLUGIN / "pages.py", PLUGIN / "editor.py", *sorted(PLUGIN.glob("templates/pipeline/*.html"))])
    assert len(gaps.messages) > 40
    assert gaps.missing == [], "add these to plugins/pipeline/locale/zh_CN/LC_MESSAGES/messages.po"
    assert gaps.placeholders_differ == []
