"""The scoring rules' admin page (``/p/leads/scoring``), their JSON API
(``/api/v1/plugins/leads/scoring/rules``) and the "why this score" panel of a lead's page
(``/p/leads/scoring/why/ID``).

Editing needs the permission ``leads.score_rules`` (admins and sales managers); each change is
audited and rescores every lead in the same transaction (:mod:`.scoring`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from kernel import NotFound, ValidationError, allowed, jsonable, parse_id, read_json_object
from kernel.ui import check_form, ui_of

from . import capture_pages, scoring

if TYPE_CHECKING:
    from kernel import Actor, Site

PERMISSION = ("leads", "score_rules")
WORDS = {
    "title": {"en": "Lead scoring", "zh_CN": "线索评分"},
    "intro": {"en": "A lead's score (0-100) is the sum of the points of the rules below that hold for it; the lead's page lists them. "
                    "Scores are recomputed when a lead changes or is followed up, when a rule changes, and every night.",
              "zh_CN": "线索评分（0-100）为下列规则中符合条件的分值之和，线索详情页会列出得分依据。线索变更或跟进、规则修改时以及每晚都会重新计算。"},
    "rule": {"en": "Rule", "zh_CN": "规则"},
    "kind": {"en": "Kind", "zh_CN": "类型"},
    "field": {"en": "Field", "zh_CN": "字段"},
    "values": {"en": "Values (comma-separated)", "zh_CN": "取值（用逗号分隔）"},
    "number": {"en": "N (follow-ups or days)", "zh_CN": "N（跟进次数或天数）"},
    "points": {"en": "Points", "zh_CN": "分值"},
    "label_en": {"en": "Label in English", "zh_CN": "英文说明"},
    "label_zh": {"en": "Label in Chinese", "zh_CN": "中文说明"},
    "label_hint": {"en": "Empty: written from the rule.", "zh_CN": "留空则根据规则自动生成。"},
    "active": {"en": "Active", "zh_CN": "启用"},
    "position": {"en": "Order", "zh_CN": "顺序"},
    "add": {"en": "Add a rule", "zh_CN": "添加规则"},
    "edit": {"en": "Change the rule", "zh_CN": "修改规则"},
    "save": {"en": "Save", "zh_CN": "保存"},
    "delete": {"en": "Delete", "zh_CN": "删除"},
    "change": {"en": "Change", "zh_CN": "修改"},
    "none": {"en": "No rules yet: every lead scores 0.", "zh_CN": "还没有规则：所有线索评分为 0。"},
    "saved": {"en": "Saved. Every lead was rescored.", "zh_CN": "已保存，所有线索已重新评分。"},
    "yes": {"en": "Yes", "zh_CN": "是"},
    "no": {"en": "No", "zh_CN": "否"},
    "why": {"en": "Why this score", "zh_CN": "评分依据"},
    "no_reason": {"en": "No scoring rule holds for this lead.", "zh_CN": "此线索不符合任何评分规则。"},
    "rules_link": {"en": "Scoring rules", "zh_CN": "评分规则"},
    "back": {"en": "Back to the rules", "zh_CN": "返回规则列表"},
}


def may_edit(site: Site, actor: Actor) -> bool:
    return allowed(site, actor, *PERMISSION)


def _editor(site: Site, actor: Actor) -> None:
    if not may_edit(site, actor):
        raise NotFound("no such page", [{"loc": ["path"], "msg": "you may not change the scoring rules"}])


# -- JSON API -------------------------------------------------------------------------------------


def routes() -> list[BaseRoute]:
    return [
        Route("/scoring/rules", rules_api, methods=["GET", "POST"]),
        Route("/scoring/rules/{id}", rule_api, methods=["GET", "PATCH", "DELETE"]),
        Route("/scoring/rescore", rescore_api, methods=["POST"]),
    ]


async def rules_api(request: Request) -> Response:
    """``GET``: the rules, kinds and fields a rule may name; ``POST``: a new rule (201)."""
    site, actor = request.app.state.site, request.state.actor
    _editor(site, actor)
    if request.method == "POST":
        rule = scoring.create_rule(site, actor, await read_json_object(request))
        return JSONResponse(jsonable(rule), status_code=201)
    with site.engine.connect() as conn:
        rules = scoring.list_rules(conn)
    return JSONResponse(jsonable({"rules": rules, "kinds": list(scoring.KINDS), "fields": sorted(scoring.scorable_fields(site))}))


async def rule_api(request: Request) -> Response:
    site, actor = request.app.state.site, request.state.actor
    _editor(site, actor)
    rule_id = parse_id(request.path_params["id"], ["path", "id"])
    if request.method == "PATCH":
        return JSONResponse(jsonable(scoring.update_rule(site, actor, rule_id, await read_json_object(request))))
    if request.method == "DELETE":
        scoring.delete_rule(site, actor, rule_id)
        return Response(status_code=204)
    with site.engine.connect() as conn:
        return JSONResponse(jsonable(scoring.get_rule(conn, rule_id)))


async def rescore_api(request: Request) -> Response:
    """Recompute every lead's score now (what the nightly job does)."""
    site, actor = request.app.state.site, request.state.actor
    _editor(site, actor)
    with site.write() as conn:
        changed = scoring.rescore(site, conn, site.clock.now())
    return JSONResponse({"rescored": changed})


# -- pages ----------------------------------------------------------------------------------------


def pages() -> list[BaseRoute]:
    return [
        Route("/scoring", rules_page, methods=["GET", "POST"]),
        Route("/scoring/{id:int}", rule_page, methods=["GET", "POST"]),
        Route("/scoring/{id:int}/delete", delete_page, methods=["POST"]),
        Route("/scoring/why/{id}", why_panel, methods=["GET"]),
    ]


def _form_body(form: Any) -> dict[str, Any]:
    """A rule's body from the posted form; a number that does not read is refused naming its field."""
    body: dict[str, Any] = {"kind": form.get("kind") or None, "active": "active" in form}
    kind = body["kind"]
    if kind in ("field", "filled"):
        body["field"] = form.get("field") or None
    if kind == "field":
        body["values"] = str(form.get("values") or "")
    for name, required in (("points", True), ("number", kind in ("followups", "recency")), ("position", False)):
        text = str(form.get(name) or "").strip()
        if not text:
            if required:
                body[name] = None
            continue
        try:
            body[name] = int(text)
        except ValueError:
            raise ValidationError.at(["body", name], "must be a whole number") from None
    body["label"] = {"en": str(form.get("label_en") or ""), "zh_CN": str(form.get("label_zh") or "")}
    if not any(body["label"].values()):
        body["label"] = None
    return body


def _context(ui: Any, rule: dict[str, Any] | None, values: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    site = ui.site
    with site.engine.connect() as conn:
        rules = scoring.list_rules(conn)
    fields = scoring.scorable_fields(site)
    return {
        "rules": rules, "rule": rule, "values": values, "errors": errors, "words": WORDS, "kinds": scoring.KIND_LABELS,
        "fields": [(key, f.label_text(ui.locale, ui.gettext)) for key, f in fields.items()],
        "field_labels": {key: f.label_text(ui.locale, ui.gettext) for key, f in fields.items()}, "saved": False,
    }


def _values_of(rule: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": rule["kind"], "field": rule.get("field") or "", "values": ", ".join(rule.get("values") or []),
        "number": "" if rule.get("number") is None else rule["number"], "points": rule["points"], "position": rule.get("position", 0),
        "label_en": (rule.get("label") or {}).get("en", ""), "label_zh": (rule.get("label") or {}).get("zh_CN", ""),
        "active": rule.get("active", True),
    }


async def _save(request: Request, rule: dict[str, Any] | None) -> Response:
    ui = ui_of(request)
    form = await check_form(request)
    try:
        body = _form_body(form)
        if rule is None:
            scoring.create_rule(ui.site, ui.actor, body)
        else:
            scoring.update_rule(ui.site, ui.actor, rule["id"], body)
    except ValidationError as exc:
        explained = ui.explain(exc)
        errors = {str(d["loc"][-1]): str(d.get("msg")) for d in explained.details or [] if d.get("loc")}
        values = {k: form.get(k, "") for k in ("kind", "field", "values", "number", "points", "position", "label_en", "label_zh")}
        values["active"] = "active" in form
        return ui.render("leads/scoring.html", status_code=422, **_context(ui, rule, values, errors))
    return ui.redirect("/p/leads/scoring?saved=1")


async def rules_page(request: Request) -> Response:
    ui = ui_of(request)
    _editor(ui.site, ui.actor)
    if request.method == "POST":
        return await _save(request, None)
    blank = {"kind": "field", "field": "source", "values": "", "number": "", "points": 10, "position": 0, "label_en": "", "label_zh": "", "active": True}
    return ui.render("leads/scoring.html", **(_context(ui, None, blank, {}) | {"saved": bool(request.query_params.get("saved"))}))


async def rule_page(request: Request) -> Response:
    ui = ui_of(request)
    _editor(ui.site, ui.actor)
    with ui.site.engine.connect() as conn:
        rule = scoring.get_rule(conn, request.path_params["id"])
    if request.method == "POST":
        return await _save(request, rule)
    return ui.render("leads/scoring.html", **_context(ui, rule, _values_of(rule), {}))


async def delete_page(request: Request) -> Response:
    ui = ui_of(request)
    _editor(ui.site, ui.actor)
    await check_form(request)
    scoring.delete_rule(ui.site, ui.actor, request.path_params["id"])
    return ui.redirect("/p/leads/scoring?saved=1")


async def why_panel(request: Request) -> Response:
    """The lead's score and the reasons for it, as a card for its page (an ``hx-get`` fragment)."""
    ui = ui_of(request)
    lead = ui.site.records.get(ui.actor, "leads", parse_id(request.path_params["id"], ["path", "id"]))
    reasons = scoring.explain(ui.site, lead, ui.locale, ui.site.clock.now())
    return ui.render("leads/scoring_why.html", lead=lead, reasons=reasons, words=WORDS, editor=may_edit(ui.site, ui.actor),
                     capture=flagged_capture(ui, lead["id"]), capture_words=capture_pages.WORDS)


def flagged_capture(ui: Any, lead_id: int) -> dict[str, Any] | None:
    """The look-alikes found when the lead was captured, as far as the reader may see them."""
    found = capture_pages.capture_flags(ui.site, ui.actor, lead_id)
    if found is None:
        return None
    for item in found["duplicates"]:
        item["entity_label"] = ui.label(ui.view.entity(item["entity"]).label, item["entity"])
    return found
