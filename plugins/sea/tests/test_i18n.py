"""Every string the sea's pages and refusals show has a Chinese translation with the same placeholders,
and a refusal of the move API reads in Chinese."""

from __future__ import annotations

from pathlib import Path

from kernel.testing import translation_gaps

PLUGIN = Path(__file__).resolve().parents[1]


def test_every_string_has_a_chinese_translation():
    gaps = translation_gaps(PLUGIN, [PLUGIN / "pages.py", PLUGIN / "entering.py", *sorted(PLUGIN.glob("templates/sea/*.html"))])
    assert len(gaps.messages) > 15
    assert gaps.missing == [], "add these to plugins/sea/locale/zh_CN/LC_MESSAGES/messages.po"
    assert gaps.placeholders_differ == []


def test_a_move_refusal_reads_in_chinese(site, people, http):
    from .conftest import make_sea

    sea = make_sea(site, people)
    answer = http(people["rep"]).post("/api/v1/plugins/sea/move", json={"sea_id": sea["id"], "ids": [1]},
                                      headers={"Accept-Language": "zh-CN"})
    assert answer.status_code == 403 and "只有此公海的管理员" in answer.json()["error"]["message"], answer.text
