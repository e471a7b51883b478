"""The admins' pipeline editor: ``/p/pipeline/pipelines`` (the pipelines, a new one) and
``/p/pipeline/pipelines/{id}`` (its stages: add, rename and set rules, reorder, remove with a destination)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from kernel import Forbidden, NotFound, RecordError, allowed, parse_int
from kernel.ui import check_form, render, ui_of

from . import stageedit
from .stages import KINDS, stages_of

if TYPE_CHECKING:
    from kernel.ui import UI

KIND_LABELS = {
    "open": {"en": "Open", "zh_CN": "进行中"}, "won": {"en": "Won", "zh_CN": "赢单"},
    "lost": {"en": "Lost", "zh_CN": "输单"}, "invalid": {"en": "Invalid", "zh_CN": "无效"},
}


def _admin(ui: UI) -> None:
    if not allowed(ui.site, ui.actor, "pipelines", "update"):
        raise Forbidden(ui.gettext("Only administrators edit pipelines."))


async def pipelines_page(request: Request) -> Response:
    ui = ui_of(request)
    _admin(ui)
    error, status = None, 200
    if request.method == "POST":
        form = await check_form(request)
        try:
            created = ui.site.records.create(ui.actor, "pipelines", {"name": str(form.get("name") or "").strip(),
                                                                     "currency": str(form.get("currency") or "CNY").strip().upper()})
        except RecordError as exc:
            explained = ui.explain(exc, "pipelines")
            error, status = explained.message, explained.status
        else:
            return ui.redirect(f"/p/pipeline/pipelines/{created['id']}")
    items = ui.site.records.list(ui.actor, "pipelines", sort=["name", "id"], limit=100).items
    response = render(request, "pipeline/pipelines.html", items=items, error=error)
    response.status_code = status
    return response


def _body(form: Any) -> dict[str, Any]:
    """A stage form as the body :mod:`.stageedit` takes (text inputs typed; empty optional ones left out)."""
    body: dict[str, Any] = {}
    if form.get("label_en") is not None or form.get("label_zh_CN") is not None:
        body["label"] = {"en": str(form.get("label_en") or "").strip(), "zh_CN": str(form.get("label_zh_CN") or "").strip()}
    if form.get("key"):
        body["key"] = str(form["key"]).strip()
    if form.get("kind"):
        body["kind"] = str(form["kind"])
    if form.get("probability") not in (None, ""):
        body["probability"] = parse_int(form["probability"], ["probability"])
    if "rotting_days" in form:
        text = str(form.get("rotting_days") or "").strip()
        body["rotting_days"] = parse_int(text, ["rotting_days"]) if text else None
    if "requires" in form:
        body["requires"] = [p.strip() for p in str(form.get("requires") or "").replace("，", ",").split(",") if p.strip()]
    if "feedback" in form:
        text = str(form.get("feedback") or "").strip() or "[]"
        try:
            body["feedback"] = json.loads(text)
        except ValueError:
            from kernel import ValidationError

            raise ValidationError.at(["feedback"], "must be a JSON list of questions") from None
    return body


async def pipeline_page(request: Request) -> Response:
    ui = ui_of(request)
    _admin(ui)
    site, actor = ui.site, ui.actor
    pipeline = site.records.get(actor, "pipelines", request.path_params["id"])
    error, done, status = None, None, 200
    if request.method == "POST":
        form = await check_form(request)
        op, key = str(form.get("op") or ""), str(form.get("stage") or "")
        try:
            with site.engine.connect() as conn:
                keys = [s.key for s in stages_of(site, conn, pipeline["id"])]
            if op == "add":
                stageedit.add_stage(site, actor, pipeline["id"], _body(form))
            elif op == "change":
                stageedit.change_stage(site, actor, pipeline["id"], key, _body(form))
            elif op in ("up", "down") and key in keys:
                index = keys.index(key)
                other = index - 1 if op == "up" else index + 1
                if 0 <= other < len(keys):
                    keys[index], keys[other] = keys[other], keys[index]
                    stageedit.reorder_stages(site, actor, pipeline["id"], keys)
            elif op == "remove":
                moved = stageedit.remove_stage(site, actor, pipeline["id"], key, str(form.get("move_to") or "") or None)
                done = ui.gettext("Stage removed; %(count)s opportunities moved.", count=moved)
            else:
                raise NotFound(ui.gettext("No such change."))
        except RecordError as exc:
            explained = ui.explain(exc, "opportunities")
            details = [str(d.get("msg")) for d in explained.details if d.get("msg")]
            error = explained.message if not details or details[0] in explained.message else f"{explained.message} {details[0]}"
            status = explained.status
        else:
            if done is None:
                return ui.redirect(f"/p/pipeline/pipelines/{pipeline['id']}")
    with site.engine.connect() as conn:
        stages = stages_of(site, conn, pipeline["id"])
    response = render(request, "pipeline/pipeline.html", pipeline=pipeline, stages=stages, kinds=KINDS, kind_labels=KIND_LABELS,
                      error=error, done=done, json=json)
    response.status_code = status
    return response
