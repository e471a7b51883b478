"""The option lists behind a lead's source and the reason a lead is invalid, with their default
options; admins rename, reorder, archive and add options at ``/admin/option-lists``."""

from __future__ import annotations

from kernel import Option, OptionList


def _options(*rows: tuple[str, str, str]) -> tuple[Option, ...]:
    return tuple(Option(code, {"en": en, "zh_CN": zh}) for code, en, zh in rows)


SOURCE = OptionList(
    "leads.source",
    {"en": "Lead source", "zh_CN": "线索来源"},
    _options(
        ("web_form", "Web form", "官网表单"),
        ("import", "Import", "导入"),
        ("campaign", "Campaign", "市场活动"),
        ("fair", "Trade fair", "展会"),
        ("referral", "Referral", "转介绍"),
        ("manual", "Entered by hand", "手工录入"),
        ("api", "API", "接口"),
        ("email", "Email", "邮件"),
    ),
)

INVALID_REASONS = OptionList(
    "leads.invalid_reasons",
    {"en": "Why a lead is invalid", "zh_CN": "无效线索原因"},
    _options(
        ("wrong_number", "Wrong number", "空号"),
        ("no_need", "No need", "无需求"),
        ("duplicate", "Duplicate", "重复"),
        ("other", "Other", "其他"),
    ),
)


def option_lists() -> list[OptionList]:
    return [SOURCE, INVALID_REASONS]
