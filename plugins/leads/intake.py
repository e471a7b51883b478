"""Scoring, capture and reports: the permissions they check and their menu entries."""

from __future__ import annotations

from typing import Any


def intake_permissions() -> list[dict[str, Any]]:
    """Who edits the scoring rules (``leads.score_rules``) and who binds public forms to lead pools
    and reads the capture log (``leads.capture_forms``); admins hold both."""
    return [
        {"name": "leads.score_rules", "label": {"en": "Leads: edit the scoring rules", "zh_CN": "线索：编辑评分规则"}, "roles": ["sales_manager"]},
        {"name": "leads.capture_forms", "label": {"en": "Leads: manage web-form capture", "zh_CN": "线索：管理表单采集"},
         "roles": ["sales_manager", "marketer"]},
    ]


def intake_menu_items() -> list[dict[str, Any]]:
    return [
        {"label": {"en": "Lead reports", "zh_CN": "线索报表"}, "url": "/p/leads/reports", "order": 8, "section": "leads", "permission": "leads.read"},
        {"label": {"en": "Lead capture", "zh_CN": "线索采集"}, "url": "/p/leads/capture", "order": 9, "section": "leads",
         "permission": "leads.capture_forms"},
        {"label": {"en": "Lead scoring", "zh_CN": "线索评分"}, "url": "/p/leads/scoring", "order": 9, "section": "leads",
         "permission": "leads.score_rules"},
    ]
