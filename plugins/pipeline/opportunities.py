"""The rules of an opportunity's write path: defaults on create, what a change of stage sets, the
feedback a stage asks for, and the outcome that follows every transition (whatever moved it)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from kernel import ValidationError, Vetoed

from .models import OPPORTUNITIES, PIPELINES
from .stages import ENTITY, Stage, default_pipeline_id, kind_of, stages_of

if TYPE_CHECKING:
    from kernel import Actor, Site

#: Fields the write path sets from the stage; a caller changes them by moving the opportunity.
DERIVED = ("outcome", "won_at", "closed_at")


def _pipeline(conn: sa.Connection, pipeline_id: Any) -> sa.Row[Any]:
    row = conn.execute(sa.select(PIPELINES).where(PIPELINES.c.id == pipeline_id)).first()
    if row is None:
        raise ValidationError.at(["pipeline_id"], f"no pipeline {pipeline_id}")
    return row


def _team_of(site: Site, conn: sa.Connection, user_id: int | None) -> int | None:
    if user_id is None:
        return None
    users = site.view.entities["users"].table
    found = conn.scalar(sa.select(users.c.team_id).where(users.c.id == user_id))
    return None if found is None else int(found)


def _stage(site: Site, conn: sa.Connection, pipeline_id: int, key: str | None) -> Stage | None:
    stages = stages_of(site, conn, pipeline_id)
    if key is None:
        return stages[0] if stages else None
    return next((s for s in stages if s.key == key), None)


def _apply_stage(site: Site, values: dict[str, Any], stage: Stage, *, probability_sent: bool) -> None:
    """What entering ``stage`` sets: the outcome, the closing times, the default probability."""
    now = site.clock.now()
    values["outcome"] = stage.kind
    values["won_at"] = now if stage.kind == "won" else None
    values["closed_at"] = None if stage.kind == "open" else now
    if not probability_sent:
        values["probability"] = stage.probability
    values["last_activity_at"] = now


def before_create(site: Site, conn: sa.Connection, actor: Actor, values: dict[str, Any]) -> None:
    for name in DERIVED:
        if values.get(name) not in (None, "open"):
            raise Vetoed.at([name], "is set by the stage: create the opportunity in the stage you mean")
    if values.get("pipeline_id") is None:
        values["pipeline_id"] = default_pipeline_id(site, conn)
    pipeline = _pipeline(conn, values["pipeline_id"])
    if values.get("currency") is None:
        values["currency"] = pipeline.currency
    if values.get("owner_id") is None and actor.user_id is not None:
        values["owner_id"] = actor.user_id
    if values.get("team_id") is None:
        values["team_id"] = _team_of(site, conn, values.get("owner_id"))
    stage = _stage(site, conn, pipeline.id, values.get("stage"))
    if stage is None:  # no stages, or an unknown key: the kernel's check names the choices
        return
    values["stage"] = stage.key
    _apply_stage(site, values, stage, probability_sent=values.get("probability") is not None)
    values["stage_feedback"] = values.get("stage_feedback") or None


def before_update(site: Site, conn: sa.Connection, record: dict[str, Any], changes: dict[str, Any]) -> None:
    stage_key = changes.get("stage", record["stage"])
    pipeline_id = changes.get("pipeline_id", record["pipeline_id"])
    moving = stage_key != record["stage"] or pipeline_id != record["pipeline_id"]
    for name in DERIVED:
        if name in changes and changes[name] != record.get(name) and not moving:
            raise Vetoed.at([name], "is set by the stage: move the opportunity to change it")
    if not moving:
        if "stage_feedback" in changes and changes["stage_feedback"] != record.get("stage_feedback"):
            raise Vetoed.at(["stage_feedback"], "is answered when the opportunity enters a stage")
        return
    if pipeline_id is None:
        return  # the kernel refuses it, naming the field
    _pipeline(conn, pipeline_id)
    stage = _stage(site, conn, pipeline_id, stage_key)
    if stage is None:
        return
    sent = "probability" in changes and changes["probability"] != record.get("probability")
    _apply_stage(site, changes, stage, probability_sent=sent)
    changes.setdefault("stage_feedback", None)


def missing_on_move(site: Site, conn: sa.Connection, record: dict[str, Any], after: dict[str, Any], target: Stage) -> list[dict[str, Any]]:
    """Everything a move of ``record`` (to be ``after``) into ``target`` lacks, as error details: the
    fields required to leave its stage, the fields and questions ``target`` asks on entering."""
    entity = site.view.entities[ENTITY]
    custom_names = set(site.view.fields(ENTITY).fields)
    details: list[dict[str, Any]] = []
    current = _stage(site, conn, record["pipeline_id"], record["stage"]) if after["pipeline_id"] == record["pipeline_id"] else None

    def value(name: str) -> Any:
        return after.get(name) if name in entity.columns else (after.get("custom") or {}).get(name)

    def loc(name: str) -> list[str]:
        return [name] if name in entity.columns else ["custom", name]

    if current is not None and current.key != target.key:
        for name in current.requires:
            if _empty(value(name)):
                details.append({"loc": loc(name), "msg": f"required to leave {current.key!r}"})
    answers = after.get("stage_feedback") or {}
    for question in target.feedback:
        name = question["name"]
        if name in entity.columns or name in custom_names:
            if question.get("required") and _empty(value(name)) and loc(name) not in [d["loc"] for d in details]:
                details.append({"loc": loc(name), "msg": f"asked on entering {target.key!r}"})
        elif question.get("required") and _empty(answers.get(name)):
            details.append({"loc": ["feedback", name], "msg": f"asked on entering {target.key!r}", "input": _input(question)})
    return details


def _input(question: dict[str, Any]) -> dict[str, Any]:
    """How a dialog asks one of a stage's own questions."""
    found = {"type": question.get("type", "text"), "label": question.get("label"), "required": bool(question.get("required"))}
    if question.get("options"):
        found["options"] = list(question["options"])
    return found


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, (str, list, dict)) and not (value.strip() if isinstance(value, str) else value))


def before_transition(site: Site, conn: sa.Connection, record: dict[str, Any], from_state: str | None, to_state: str) -> None:
    """Every path that moves an opportunity (API, board, form, import) answers the target stage's questions."""
    if from_state is None:
        return
    target = _stage(site, conn, record["pipeline_id"], to_state)
    if target is None:
        return
    details = missing_on_move(site, conn, {**record, "stage": from_state}, record, target)
    if details:
        first = details[0]
        raise ValidationError(f"{'.'.join(map(str, first['loc']))}: {first['msg']}", details)


def record_transition(site: Site, conn: sa.Connection, actor: Actor, event: dict[str, Any]) -> None:
    """After every move: the outcome follows the stage (also for moves the kernel makes when an admin
    removes a stage), and ``pipeline_outcome_changed`` hears of a changed outcome."""
    if event["from_state"] is None:
        return
    pipeline_id = int(event["set_key"])
    previous = kind_of(conn, pipeline_id, event["from_state"])
    outcome = kind_of(conn, pipeline_id, event["to_state"], event["kind"])
    row = conn.execute(sa.select(OPPORTUNITIES).where(OPPORTUNITIES.c.id == event["record_id"])).first()
    if row is None:
        return
    record = dict(row._mapping)
    if record["outcome"] != outcome:  # a move the write path did not see (a removed stage's records)
        now = site.clock.now()
        values = {"outcome": outcome, "won_at": now if outcome == "won" else None, "closed_at": None if outcome == "open" else now,
                  "last_activity_at": now}
        conn.execute(sa.update(OPPORTUNITIES).where(OPPORTUNITIES.c.id == record["id"]).values(values))
        record.update(values)
    if previous != outcome:
        site.view.pm.hook.pipeline_outcome_changed(site=site, conn=conn, actor=actor, opportunity=record, previous=previous, outcome=outcome)


def followed_up(site: Site, conn: sa.Connection, actor: Actor, record_id: int, at: Any) -> None:
    """A follow-up on an opportunity is activity: it resets the rotting clock."""
    conn.execute(
        sa.update(OPPORTUNITIES)
        .where(OPPORTUNITIES.c.id == record_id, sa.or_(OPPORTUNITIES.c.last_activity_at.is_(None), OPPORTUNITIES.c.last_activity_at < at))
        .values(last_activity_at=at)
    )


def won_customer_ids(conn: sa.Connection, ids: list[int]) -> list[int]:
    """Those of the customer ``ids`` with a won opportunity (the sea counts them as closed), in one query."""
    if not ids:
        return []
    query = sa.select(OPPORTUNITIES.c.customer_id).where(OPPORTUNITIES.c.customer_id.in_(ids), OPPORTUNITIES.c.outcome == "won").distinct()
    return [int(i) for i in conn.scalars(query)]
