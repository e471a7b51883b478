"""Every string the leads' pages and refusals show has a Chinese translation with the same placeholders,
and a refusal reads in Chinese."""

from __future__ import annotations

from pathlib import Path

from kernel.testing import translation_gaps

from .conftest import make_leads, make_pool

PLUGIN = Path(__file__).resolve().parents[1]


def test_every_string_has_a_chinese_translation_with_the_same_placeholders():
    gaps = translation_gaps(PLUGIN, [*sorted(PLUGIN.glob("*.py")), *sorted(PLUGIN.glob("templates/leads/*.html"))])
    assert len(gaps.messages) > 20
    assert gaps.missing == [], "add these to plugins/leads/locale/zh_CN/LC_MESSAGES/messages.po"
    assert gaps.placeholders_differ == []


def test_a_conversion_refusal_reads_in_chinese(site, people, http):
    lead = make_leads(site, make_pool(site, people)["id"], 1, owner_id=people["rep"].user_id)[0]
    assert http(people["rep"]).post(f"/api/v1/leads/{lead['id']}/convert", json={}).status_code == 200
    again = http(people["rep"]).post(f"/api/v1/leads/{lead['id']}/convert", json={}, headers={"Accept-Language": "zh-CN"})
    assert again.status_code == 409 and again.json()["error"]["message"] == "此线索已转化", again.text
