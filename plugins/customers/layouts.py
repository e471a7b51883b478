"""How the plugin's forms are laid out: sections, field order, read-only and plugin-bound fields.

See docs/building-blocks.md "Form layout metadata": the kernel's generic forms read these
from each :class:`~kernel.Entity`.
"""

from __future__ import annotations

from typing import Any

from kernel import FormSection


def _section(name: str, en: str, zh: str, *fields: str) -> FormSection:
    return FormSection(name, {"en": en, "zh_CN": zh}, fields)


CUSTOMERS: dict[str, Any] = {
    "form_sections": (
        _section("basics", "Basics", "基本信息", "name", "kind", "status", "level", "industry", "region", "source", "credit_code"),
        _section("reach", "Contact details", "联系方式", "phone", "phones", "email", "emails", "website", "address"),
        _section("ownership", "Ownership and sharing", "归属与共享", "owner_id", "team_id", "sea_id", "shared_user_ids", "shared_team_ids", "tags"),
    ),
    # set by follow-ups and the churn job, never typed
    "read_only": ("last_followed_at", "churn_flag", "churn_reason", "churn_flagged_at"),
    # the public sea is another plugin's: without it there is no sea to name
    "field_requires": {"sea_id": "seas"},
    "title_field": "name",
}

CONTACTS: dict[str, Any] = {
    "form_sections": (
        _section("basics", "Basics", "基本信息", "customer_id", "name", "title", "is_primary"),
        _section("reach", "Contact details", "联系方式", "phone", "phones", "email", "emails", "wechat"),
        _section("more", "More", "更多", "birthday", "notes"),
    ),
    "title_field": "name",
}

FOLLOWUPS: dict[str, Any] = {
    "form_sections": (_section("basics", "Follow-up", "跟进", "customer_id", "method", "followed_at", "content", "next_at", "owner_id"),),
    # the generic pair (another entity's record) comes from the page it was created on
    "read_only": ("entity", "record_id"),
}

TASKS: dict[str, Any] = {
    "form_sections": (
        _section("basics", "Task", "任务", "title", "description", "customer_id", "assignee_id", "priority", "status", "due_at", "remind_at"),
    ),
    # the related pair comes from the page it was created on; reminders and completion are stamped
    "read_only": ("entity", "record_id", "reminded_at", "done_at"),
    "title_field": "title",
}
