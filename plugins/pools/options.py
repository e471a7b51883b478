"""The option list of release reasons (admins extend it at ``/admin/option-lists``)."""

from __future__ import annotations

from kernel import Option, OptionList

RELEASE_REASONS = OptionList(
    "pools.release_reasons",
    {"en": "Release reasons", "zh_CN": "释放原因"},
    tuple(
        Option(code, {"en": en, "zh_CN": zh})
        for code, en, zh in (
            ("no_interest", "No interest", "无意向"),
            ("unreachable", "Cannot be reached", "联系不上"),
            ("not_target", "Not a target customer", "非目标客户"),
            ("duplicate", "Duplicate", "重复"),
            ("other", "Other", "其他"),
        )
    ),
)


def option_lists() -> list[OptionList]:
    return [RELEASE_REASONS]
