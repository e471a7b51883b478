"""Moving an opportunity: ``POST /api/v1/opportunities/{id}/move`` ``{"stage", "feedback", "values"}``.

One check names everything the move lacks at once (422): the fields required to leave the current
stage, the fields and questions the target stage asks on entering. Then the move is one update
through ``site.records`` — the kernel's state machine refuses a move the stage does not allow (409)
and writes the state event (time in the previous stage, the amount at the time).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from kernel import Conflict, ValidationError, parse_date, parse_decimal, parse_money

from .fields import MoveBody
from .opportunities import missing_on_move
from .stages import ENTITY, Stage, stages_of

if TYPE_CHECKING:
    from kernel import Actor, Entity, Site

MAX_TEXT = 2000
FIXED = ("stage", "pipeline_id", "outcome", "stage_feedback", "won_at", "closed_at")


def clean_feedback(target: Stage, sent: dict[str, Any], currency: str) -> dict[str, Any]:
    """The answers to ``target``'s own questions, typed; an unknown or wrong one is a 422 naming it."""
    questions = {q["name"]: q for q in target.feedback if "type" in q}
    answers: dict[str, Any] = {}
    for name, value in sent.items():
        question = questions.get(name)
        loc = ["feedback", name]
        if question is None:
            asked = ", ".join(questions) or "none"
            raise ValidationError.at(loc, f"{target.key!r} asks no such question (asks: {asked})")
        if value is None or value == "":
            continue
        kind = question.get("type", "text")
        if kind == "text":
            if not isinstance(value, str) or len(value) > MAX_TEXT:
                raise ValidationError.at(loc, f"must be text of at most {MAX_TEXT} characters")
            answers[name] = value.strip()
        elif kind == "number":
            answers[name] = str(parse_decimal(value, loc))
        elif kind == "money":
            try:
                answers[name] = str(parse_money(value, currency))
            except ValueError as exc:
                raise ValidationError.at(loc, str(exc)) from None
        elif kind == "date":
            answers[name] = parse_date(value, loc).isoformat()
        elif kind == "choice":
            if value not in question.get("options", ()):
                raise ValidationError.at(loc, f"must be one of {', '.join(question.get('options', ()))}")
            answers[name] = value
    return answers


def move(site: Site, conn: sa.Connection, actor: Actor, record: dict[str, Any], stage: str, feedback: dict[str, Any],
         values: dict[str, Any]) -> dict[str, Any]:
    """Move ``record`` to ``stage`` with the answers and field values the move needs; the record after."""
    stages = stages_of(site, conn, record["pipeline_id"])
    target = next((s for s in stages if s.key == stage), None)
    if target is None:
        keys = ", ".join(s.key for s in stages) or "none"
        raise ValidationError.at(["stage"], f"unknown stage {stage!r} of this pipeline; one of: {keys}")
    if target.key == record["stage"]:
        raise Conflict(f"stage: the opportunity is in {stage!r} already", [{"loc": ["stage"], "msg": "already in this stage"}])
    fixed = [name for name in values if name in FIXED]
    if fixed:
        raise ValidationError.at(["values", fixed[0]], "is set by the move itself")
    answers = clean_feedback(target, feedback, values.get("currency") or record["currency"])
    changes = {**values, "stage": target.key, "stage_feedback": answers or None}
    after = {**record, **{k: v for k, v in values.items() if k != "custom"}, "stage": target.key, "stage_feedback": answers or None}
    if isinstance(values.get("custom"), dict):
        after["custom"] = {**(record.get("custom") or {}), **values["custom"]}
    missing = missing_on_move(site, conn, record, after, target)
    if missing:
        first = missing[0]
        raise ValidationError(f"{'.'.join(map(str, first['loc']))}: {first['msg']}", missing)
    return site.records.update(actor, ENTITY, record["id"], changes, conn=conn)


def move_action(site: Site, conn: sa.Connection, actor: Actor, entity: Entity, record: dict[str, Any], body: MoveBody) -> dict[str, Any]:
    """The ``move`` action's handler."""
    return move(site, conn, actor, record, body.stage, body.feedback, body.values)
