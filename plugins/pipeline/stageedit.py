"""Admins edit a pipeline's stages: add, change (rename, kind, probability, rotting days, required fields,
feedback), reorder, remove (its opportunities move to another stage). Each is one transaction over the
kernel's state set (``site.states``, audited there) and this plugin's rules; opportunities keep their
stage keys, so nothing of theirs changes except where a removal moves them or a kind changes their outcome."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from kernel import Forbidden, ValidationError, allowed

from .models import OPPORTUNITIES, RULES
from .stages import ENTITY, KERNEL_KIND, KINDS, check_feedback_definitions, rules_of

if TYPE_CHECKING:
    from kernel import Actor, Site


def _may_edit(site: Site, actor: Actor) -> None:
    if not allowed(site, actor, "pipelines", "update"):
        raise Forbidden("only those who may change pipelines edit their stages", [{"loc": ["pipelines"], "msg": "needs pipelines.update"}])


def _rule_values(site: Site, body: dict[str, Any]) -> dict[str, Any]:
    """The plugin's part of a stage as sent (only the keys present), checked."""
    found: dict[str, Any] = {}
    if "kind" in body:
        if body["kind"] not in KINDS:
            raise ValidationError.at(["kind"], f"must be one of {', '.join(KINDS)}")
        found["kind"] = body["kind"]
    if "probability" in body:
        value = body["probability"]
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
            raise ValidationError.at(["probability"], "must be a whole number from 0 to 100")
        found["probability"] = value
    if "rotting_days" in body:
        value = body["rotting_days"]
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 3650):
            raise ValidationError.at(["rotting_days"], "must be a whole number of days from 1 to 3650, or empty for never")
        found["rotting_days"] = value
    if "feedback" in body:
        found["feedback"] = check_feedback_definitions(site, body["feedback"], ["feedback"])
    return found


def _kernel_body(body: dict[str, Any]) -> dict[str, Any]:
    found = {k: body[k] for k in ("key", "label", "requires", "position", "to") if k in body}
    if "kind" in body and body["kind"] in KINDS:
        found["kind"] = KERNEL_KIND[body["kind"]]
    return found


def add_stage(site: Site, actor: Actor, pipeline_id: int, body: dict[str, Any]) -> None:
    _may_edit(site, actor)
    rule = {"kind": "open", "probability": 0, "rotting_days": None, "feedback": [], **_rule_values(site, body)}
    with site.write() as conn:
        site.states.add(actor, ENTITY, pipeline_id, _kernel_body({**body, "kind": rule["kind"]}), conn=conn)
        conn.execute(sa.insert(RULES).values(pipeline_id=pipeline_id, key=body["key"], **rule))


def change_stage(site: Site, actor: Actor, pipeline_id: int, key: str, body: dict[str, Any]) -> None:
    _may_edit(site, actor)
    rule = _rule_values(site, body)
    with site.write() as conn:
        kernel_body = _kernel_body(body)
        if kernel_body:
            site.states.change(actor, ENTITY, pipeline_id, key, kernel_body, conn=conn)
        if rule:
            stored = rules_of(conn, pipeline_id).get(key)
            if stored is None:
                conn.execute(sa.insert(RULES).values(pipeline_id=pipeline_id, key=key, **{"kind": "open", "probability": 0, "feedback": [], **rule}))
            else:
                conn.execute(sa.update(RULES).where(RULES.c.id == stored["id"]).values(rule))
            if "kind" in rule:  # the outcome of the stage's opportunities follows its kind (one UPDATE)
                t = OPPORTUNITIES.c
                now = site.clock.now()
                kind = rule["kind"]
                conn.execute(sa.update(OPPORTUNITIES).where(t.pipeline_id == pipeline_id, t.stage == key, t.outcome != kind).values(
                    outcome=kind, closed_at=None if kind == "open" else now, won_at=now if kind == "won" else None, updated_at=now))


def reorder_stages(site: Site, actor: Actor, pipeline_id: int, keys: list[str]) -> None:
    _may_edit(site, actor)
    site.states.reorder(actor, ENTITY, pipeline_id, keys)


def remove_stage(site: Site, actor: Actor, pipeline_id: int, key: str, move_to: str | None) -> int:
    """Remove a stage; its opportunities move to ``move_to`` (409 naming how many when it is missing). How many moved."""
    _may_edit(site, actor)
    with site.write() as conn:
        moved = site.states.remove(actor, ENTITY, pipeline_id, key, move_to=move_to or None, conn=conn)
        conn.execute(sa.delete(RULES).where(RULES.c.pipeline_id == pipeline_id, RULES.c.key == key))
    return moved
