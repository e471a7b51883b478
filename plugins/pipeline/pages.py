"""The plugin's pages under ``/p/pipeline``: the board (by stage, per pipeline), rotting deals, the
move dialog of one opportunity, and the admins' pipeline editor."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from kernel import NotFound, RecordError, jsonable, optional_id, parse_id
from kernel.ui import board_answers, board_asked, check_form, display_fields, raw_value, reference_labels, render, show, ui_of

from . import editor
from .rotting import is_rotting, rotting_ids
from .stages import ENTITY, ensure_default_pipeline, stages_of

if TYPE_CHECKING:
    from kernel.ui import UI, FormField

CARD_LIMIT = 300
FEEDBACK = "feedback."


def pages() -> list[BaseRoute]:
    both = ["GET", "POST"]
    return [
        Route("/board", board_page, methods=both),
        Route("/rotting", rotting_page),
        Route("/move/{id:int}", move_page, methods=both),
        Route("/pipelines", editor.pipelines_page, methods=both),
        Route("/pipelines/{id:int}", editor.pipeline_page, methods=both),
    ]


def _pipelines(ui: UI) -> list[dict[str, Any]]:
    return [p for p in ui.site.records.list(ui.actor, "pipelines", sort=["name", "id"], limit=100).items if p["active"]]


def _chosen(ui: UI, request: Request, pipelines: list[dict[str, Any]]) -> int:
    asked = optional_id(request.query_params.get("pipeline"))
    if asked is not None:
        if not any(p["id"] == asked for p in pipelines):
            raise NotFound(ui.gettext("No such pipeline."))
        return asked
    return ensure_default_pipeline(ui.site)


def _card_fields(ui: UI) -> tuple[list[FormField], list[FormField]]:
    entity = ui.site.view.entities[ENTITY]
    fields = display_fields(ui.site.view, entity)
    by_key = {f.key: f for f in fields}
    return fields, [by_key[k] for k in entity.card_fields if k in by_key]


def _totals(ui: UI, pipeline_id: int, fields: list[FormField]) -> tuple[dict[str, int], dict[str, str]]:
    """Each stage's count and amount total over every opportunity the reader sees in the pipeline (one aggregate)."""
    found = ui.site.records.aggregate(ui.actor, ENTITY, group_by=["stage"], measures=["count", "sum:amount"], filters={"pipeline_id": pipeline_id})
    amount = next(f for f in fields if f.key == "amount")
    counts: dict[str, int] = {}
    parts: dict[str, list[str]] = {}
    for group in found.groups:
        key = str(group["key"])
        counts[key] = counts.get(key, 0) + int(group.get("count") or 0)
        value = group.get("sum:amount")
        if value is not None and not group.get("masked"):
            shown = amount
            if group.get("currency"):
                import dataclasses

                shown = dataclasses.replace(amount, extra={**amount.extra, "currency": group["currency"]})
            parts.setdefault(key, []).append(show(ui, shown, value))
    return counts, {k: " + ".join(v) for k, v in parts.items()}


async def board_page(request: Request) -> Response:
    """The board of one pipeline: a column per stage with its count and amount total, rotting cards marked.
    ``POST`` (kanban.js, asking for JSON) moves a card through the ``move`` action; a move that lacks
    fields or feedback answers 422 with ``ask``, and the script's dialog posts the answers back."""
    ui = ui_of(request)
    if request.method == "POST":
        return await _board_move(ui, request)
    pipelines = _pipelines(ui)
    pipeline_id = _chosen(ui, request, pipelines)
    with ui.site.engine.connect() as conn:
        stages = stages_of(ui.site, conn, pipeline_id)
    fields, on_cards = _card_fields(ui)
    page = ui.site.records.list(ui.actor, ENTITY, filters={"pipeline_id": pipeline_id}, sort="-updated_at", limit=CARD_LIMIT)
    now = ui.site.clock.now()
    rot = {s.key: s.rotting_days for s in stages}
    columns = [(stage, [r for r in page.items if r["stage"] == stage.key]) for stage in stages]
    rotting = {r["id"] for r in page.items if is_rotting(r, rot.get(r["stage"]), now)}
    counts, totals = _totals(ui, pipeline_id, fields)
    return render(
        request, "pipeline/board.html", pipelines=pipelines, pipeline_id=pipeline_id, columns=columns, counts=counts, totals=totals,
        total=page.total, shown=len(page.items), card_fields=on_cards, card_refs=reference_labels(ui, on_cards, page.items),
        rotting=rotting, raw_value=raw_value, show=lambda f, v, refs=None: show(ui, f, v, refs),
        can_move=ui.site.view.entity(ENTITY) is not None and _may_move(ui),
    )


def _may_move(ui: UI) -> bool:
    from kernel import allowed

    return allowed(ui.site, ui.actor, ENTITY, "move")


async def _board_move(ui: UI, request: Request) -> Response:
    form = await check_form(request)
    fields, _ = _card_fields(ui)
    stage = str(form.get("stage") or "")
    try:
        record_id = parse_id(form.get("id"), ["body", "id"])
        values = board_answers(fields, form, ui.tzinfo, skip="stage")
        feedback = {k[len(FEEDBACK):]: v for k, v in form.items() if k.startswith(FEEDBACK) and isinstance(v, str)}
        moved = ui.site.records.act(ui.actor, ENTITY, record_id, "move", {"stage": stage, "feedback": feedback, "values": jsonable(values)})
    except RecordError as exc:
        explained = ui.explain(exc, ENTITY)
        ask = board_asked(ui, fields, explained, inputs=True)
        reason = str(explained.details[0].get("msg", explained.message)) if explained.details else explained.message
        message = ui.gettext("This move needs more information.") if ask else f"{ui.gettext('That card could not be moved.')} {reason}"
        details = [{k: v for k, v in d.items() if not str(k).startswith("_")} for d in explained.details]
        body: dict[str, Any] = {"error": {"code": explained.code, "message": explained.message, "details": jsonable(details)}, "message": message}
        if ask:
            body["ask"] = ask
        return JSONResponse(body, status_code=explained.status)
    with ui.site.engine.connect() as conn:
        label = next((s.label for s in stages_of(ui.site, conn, moved["pipeline_id"]) if s.key == moved["stage"]), {})
    message = ui.gettext("Moved %(name)s to %(column)s.", name=moved["name"], column=ui.label(label, moved["stage"]))
    _, totals = _totals(ui, moved["pipeline_id"], fields)
    return JSONResponse({"id": moved["id"], "field": "stage", "value": moved["stage"], "message": message, "totals": totals})


async def rotting_page(request: Request) -> Response:
    """The rotting opportunities the reader may see, the quietest first."""
    ui = ui_of(request)
    ids = rotting_ids(ui.site, ui.actor)
    items = ui.site.records.list(ui.actor, ENTITY, filters={"id__in": ids}, limit=len(ids) or 1).items if ids else []
    order = {id_: i for i, id_ in enumerate(ids)}
    items.sort(key=lambda r: order.get(r["id"], 0))
    fields, _ = _card_fields(ui)
    shown = [f for f in fields if f.key in ("customer_id", "stage", "amount", "owner_id", "last_activity_at")]
    labels = {}
    with ui.site.engine.connect() as conn:
        for pipeline_id in {r["pipeline_id"] for r in items}:
            for stage in stages_of(ui.site, conn, pipeline_id):
                labels[(pipeline_id, stage.key)] = (ui.label(stage.label, stage.key), stage.rotting_days)
    return render(request, "pipeline/rotting.html", items=items, fields=shown, refs=reference_labels(ui, shown, items), stages=labels,
                  raw_value=raw_value, show=lambda f, v, refs=None: show(ui, f, v, refs), now=ui.site.clock.now())


async def move_page(request: Request) -> Response:
    """Move one opportunity from its page: the stages to choose from, then the fields and questions the move needs."""
    ui = ui_of(request)
    record = ui.site.records.get(ui.actor, ENTITY, request.path_params["id"])
    fields, _ = _card_fields(ui)
    with ui.site.engine.connect() as conn:
        stages = stages_of(ui.site, conn, record["pipeline_id"])
    error, ask, stage, status = None, [], "", 200
    if request.method == "POST":
        form = await check_form(request)
        stage = str(form.get("stage") or "")
        try:
            values = board_answers(fields, form, ui.tzinfo, skip="stage")
            feedback = {k[len(FEEDBACK):]: v for k, v in form.items() if k.startswith(FEEDBACK) and isinstance(v, str)}
            ui.site.records.act(ui.actor, ENTITY, record["id"], "move", {"stage": stage, "feedback": feedback, "values": jsonable(values)})
        except RecordError as exc:
            explained = ui.explain(exc, ENTITY)
            ask = board_asked(ui, fields, explained, inputs=True)
            error = explained.message if not ask else ui.gettext("This move needs more information.")
            status = explained.status
        else:
            return ui.redirect(f"/r/{ENTITY}/{record['id']}")
    response = render(request, "pipeline/move.html", record=record, stages=stages, stage=stage, error=error, ask=ask)
    response.status_code = status
    return response
