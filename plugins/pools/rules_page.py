"""A pool's rules form (``/p/pools/POOL_ENTITY/ID/rules``): the rule columns every pool entity has,
members and admins picked by name, for the pool's admins.

The form is read into record values (:func:`kernel.ui.read_form`) and saved with
``site.records.update`` — the one write path, so a value the API would refuse is refused here
too, and each refusal is shown next to its field in the reader's language. Level overrides are
typed one level a line (``A: followup_days=30, close_days=60``); a line that does not read so is
refused naming its line before anything is written.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from kernel import Forbidden, RecordError, ValidationError, allowed
from kernel.ui import FormField, check_form, display_fields, errors_by_field, form_values, read_form, reference_labels, ui_of

from .access import role_in
from .models import LEVEL_RULES, STRATEGIES

if TYPE_CHECKING:
    from kernel.ui import UI

    from .kinds import PoolKind

STRATEGY_LABELS = {
    "manual": {"en": "Manual: members claim, admins assign", "zh_CN": "手动：成员领取、管理员分配"},
    "round_robin": {"en": "Round-robin among members", "zh_CN": "成员轮流分配"},
    "least_loaded": {"en": "To the member holding the fewest", "zh_CN": "分配给持有最少的成员"},
    "rules": {"en": "By rules on the record's fields", "zh_CN": "按字段规则分配"},
}
LEVEL_LINE = re.compile(r"^\s*([^:：]+?)\s*[:：]\s*(.*)$")


def L(en: str, zh: str) -> dict[str, str]:  # noqa: N802 - a label in both languages
    return {"en": en, "zh_CN": zh}


def rule_fields(ui: UI, kind: PoolKind) -> list[FormField]:
    """The inputs of the form, in the order an admin reads them."""
    entity = ui.view.entity(kind.entity)
    by_name = {f.name: f for f in display_fields(ui.view, entity)}
    maskable = tuple(name for name in kind.maskable)
    mask_labels = {name: {ui.locale: by_name[name].label_text(ui.locale, ui.gettext)} for name in maskable if name in by_name}
    strategies = tuple(dict.fromkeys([*STRATEGIES, *extra_strategies(ui)]))
    number = lambda name, label, low, high, hint: FormField(name, label, "integer", minimum=low, maximum=high, extra={"description": ui.label(hint)})  # noqa: E731
    return [
        FormField("name", L("Name", "名称"), "text", required=True, max_length=200, nullable=False),
        FormField("member_ids", L("Members", "成员"), "list", reference="users", nullable=False,
                  extra={"description": ui.label(L("Users who may claim records of this pool.", "可以从此池领取记录的用户。"))}),
        FormField("member_team_ids", L("Member teams", "成员团队"), "list", reference="teams", nullable=False,
                  extra={"description": ui.label(L("Every user of these teams is a member.", "这些团队的所有用户都是成员。"))}),
        FormField("admin_ids", L("Pool admins", "池管理员"), "list", reference="users", nullable=False,
                  extra={"description": ui.label(L("Users who assign records and change these rules; they are members too.", "负责分配记录、修改规则的用户；他们也是成员。"))}),
        FormField("admin_team_ids", L("Admin teams", "管理员团队"), "list", reference="teams", nullable=False),
        FormField("assignment", L("Assignment of new records", "新记录分配方式"), "select", required=True, choices=strategies, nullable=False,
                  extra={"labels": {s: STRATEGY_LABELS.get(s, L(s, s)) for s in strategies}}),
        number("claim_limit", L("Claim limit", "持有上限"), 0, 1_000_000, L("Open records a member may hold from this pool at once; empty: no limit.", "成员可同时持有的未成交记录数；留空表示不限。")),
        number("daily_claim_limit", L("Daily claim limit", "每日领取上限"), 0, 1_000_000, L("Claims per member and day; empty: no limit.", "每位成员每天可领取的数量；留空表示不限。")),
        number("followup_days", L("Follow-up deadline, days", "跟进期限（天）"), 1, 3650, L("Back to the pool after this many days without activity; empty: never.", "超过该天数未跟进则退回池中；留空表示不回收。")),
        number("close_days", L("Close deadline, days", "成交期限（天）"), 1, 3650, L("Back to the pool when not closed this many days after assignment; empty: never.", "分配后超过该天数未成交则退回池中；留空表示不回收。")),
        number("remind_hours", L("Reminder, hours before", "提前提醒（小时）"), 1, 24 * 365, L("The owner is reminded this long before a return.", "在退回前多少小时提醒负责人。")),
        number("cooldown_days", L("Cooldown, days", "冷却期（天）"), 0, 3650, L("The previous owner may not take a record back before this many days.", "原负责人在该天数内不能再次领取同一记录。")),
        FormField("masked_fields", L("Fields hidden until claimed", "领取前隐藏的字段"), "multiselect", choices=maskable, nullable=False,
                  extra={"labels": mask_labels}),
        FormField("level_overrides", L("Per-level rules", "按级别的规则"), "textarea", nullable=False,
                  extra={"description": ui.label(L(
                      "One level a line, e.g. \"A: followup_days=30, close_days=60\". Rules: " + ", ".join(LEVEL_RULES) + ".",
                      "每行一个级别，例如“A: followup_days=30, close_days=60”。可用规则：" + "、".join(LEVEL_RULES) + "。"))}),
    ]


def extra_strategies(ui: UI) -> list[str]:
    """Names of the strategies other plugins add (``pools_assignment_strategies``)."""
    found = []
    for batch in ui.view.pm.hook.pools_assignment_strategies():
        found.extend(s.name for s in batch or ())
    return found


def overrides_text(overrides: Any) -> str:
    """``{"A": {"followup_days": 30}}`` as the lines the form shows."""
    if not isinstance(overrides, dict):
        return ""
    lines = []
    for level, rules in overrides.items():
        parts = ", ".join(f"{k}={'' if v is None else v}" for k, v in (rules or {}).items())
        lines.append(f"{level}: {parts}")
    return "\n".join(lines)


def parse_overrides(text: str, _: Any = lambda message: message) -> dict[str, dict[str, int | None]]:
    """The lines of the per-level rules; a 422 on ``level_overrides`` naming the line that does not read
    (in the language of ``_``, a page's gettext)."""
    found: dict[str, dict[str, int | None]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        match = LEVEL_LINE.match(line)
        if match is None:
            raise ValidationError.at(["level_overrides"], _("Line %(line)s: write the level, a colon, then rule=number pairs.") % {"line": number})
        level, rest = match.group(1), match.group(2)
        rules: dict[str, int | None] = {}
        for part in filter(None, (p.strip() for p in re.split(r"[,，;；]", rest))):
            name, sep, value = (x.strip() for x in part.partition("="))
            if not sep or name not in LEVEL_RULES:
                raise ValidationError.at(["level_overrides"], _("Line %(line)s: %(name)s is not one of %(rules)s.") % {"line": number, "name": name or "—", "rules": ", ".join(LEVEL_RULES)})
            if value == "":
                rules[name] = None
            elif value.isdigit() and len(value) < 8:
                rules[name] = int(value)
            else:
                raise ValidationError.at(["level_overrides"], _("Line %(line)s: %(name)s must be a whole number of at least 0.") % {"line": number, "name": name})
        if level in found:
            raise ValidationError.at(["level_overrides"], _("Line %(line)s: level %(level)s is already set above.") % {"line": number, "level": level})
        found[level] = rules
    return found


async def rules_page(request: Request) -> Response:
    """``GET`` shows the pool's rules; ``POST`` saves them, or shows the form again with each refusal at its field."""
    from .pages import pool_of

    ui = ui_of(request)
    kind, pool = pool_of(ui, request)
    if role_in(ui.actor, pool) != "admin" or not allowed(ui.site, ui.actor, kind.pool_entity, "update"):
        raise Forbidden(ui.gettext("Only the pool's admins change its rules."))
    fields = rule_fields(ui, kind)
    errors: dict[str, str] = {}
    other: list[str] = []
    values = form_values({**pool, "level_overrides": overrides_text(pool.get("level_overrides"))}, fields, ui.tzinfo)
    status = 200
    if request.method == "POST":
        form = await check_form(request)
        data = read_form(fields, form, ui.tzinfo, creating=False)
        values = {**values, **{f.key: submitted(f, form) for f in fields}}
        try:
            data["masked_fields"] = data.get("masked_fields") or []
            data["level_overrides"] = parse_overrides(str(form.get("level_overrides") or ""), ui.translations.gettext)
            ui.site.records.update(ui.actor, kind.pool_entity, pool["id"], data)
        except RecordError as exc:
            exc = ui.explain(exc, kind.pool_entity)
            errors, other = errors_by_field(exc.details or [])
            other = other or ([] if errors else [exc.message])
            status = exc.status
        else:
            return ui.redirect(f"/p/pools/{kind.pool_entity}/{pool['id']}/rules?saved=1")
    record_like = {f.name: values.get(f.key) for f in fields if f.widget == "list"}
    return ui.render(
        "pools/rules.html",
        status_code=status,
        kind=kind,
        pool=pool,
        pool_label=ui.label(ui.view.entity(kind.pool_entity).label, kind.pool_entity),
        fields=fields,
        values=values,
        errors=errors,
        other_errors=other,
        choices={f.key: [(c, ui.label(f.extra.get("labels", {}).get(c), c)) for c in f.choices] for f in fields if f.choices},
        refs=reference_labels(ui, [f for f in fields if f.reference], [record_like]),
        saved=request.query_params.get("saved") == "1",
    )


def submitted(f: FormField, form: Any) -> Any:
    """What an input shows again after a refused save: what was typed."""
    if f.widget == "multiselect":
        return form.getlist(f.key)
    if f.widget == "list":
        return [int(v) for v in form.getlist(f.key) if isinstance(v, str) and v.isdigit()]
    return form.get(f.key)
