"""Stages: the kernel's states of ``opportunities`` (one set per pipeline) plus this plugin's rules.

A stage's **kind** is ``open``, ``won``, ``lost`` or ``invalid``; the kernel's state carries the
same kind except ``invalid``, which is the kernel's ``closed`` (ended otherwise). Its **feedback**
is the form asked on entering it: each item either names a field of ``opportunities``
(``{"name": "amount", "required": true}``: the move must fill that field) or is a question of the
stage's own (``{"name": "quote_note", "label": {...}, "type": "text", "required": false}``),
answered into the opportunity's ``stage_feedback`` (and so into the state event's snapshot).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from kernel import Actor, State, ValidationError

from .models import PIPELINES, RULES

if TYPE_CHECKING:
    from kernel import Site

KINDS = ("open", "won", "lost", "invalid")
KERNEL_KIND = {"open": "open", "won": "won", "lost": "lost", "invalid": "closed"}
FEEDBACK_TYPES = ("text", "number", "money", "date", "choice")
ENTITY = "opportunities"
SEEDER = Actor.system("pipeline")


@dataclass(frozen=True)
class Stage:
    """One stage as this plugin sees it: the kernel's state and the plugin's rule, together."""

    key: str
    label: dict[str, str]
    kind: str = "open"
    probability: int = 0
    rotting_days: int | None = None
    requires: tuple[str, ...] = ()
    feedback: tuple[dict[str, Any], ...] = field(default=())

    def state(self) -> State:
        return State(self.key, dict(self.label), kind=KERNEL_KIND[self.kind], requires=tuple(self.requires))

    def rule(self, pipeline_id: int) -> dict[str, Any]:
        return {"pipeline_id": pipeline_id, "key": self.key, "kind": self.kind, "probability": self.probability,
                "rotting_days": self.rotting_days, "feedback": [dict(f) for f in self.feedback]}

    def as_public(self, position: int) -> dict[str, Any]:
        return {"key": self.key, "label": dict(self.label), "position": position, "kind": self.kind, "probability": self.probability,
                "rotting_days": self.rotting_days, "requires": list(self.requires), "feedback": [dict(f) for f in self.feedback]}


def _label(en: str, zh: str) -> dict[str, str]:
    return {"en": en, "zh_CN": zh}


#: The default pipeline 企业销售 (enterprise sales), seeded on first use; a new pipeline starts with these stages too.
DEFAULT_NAME = "企业销售"
DEFAULT_STAGES: tuple[Stage, ...] = (
    Stage("inquiry", _label("Inquiry", "咨询"), probability=10, rotting_days=14),
    Stage("needs", _label("Needs confirmed", "需求确认"), probability=25, rotting_days=14),
    Stage("quote", _label("Quotation", "报价"), probability=40, rotting_days=10, requires=("amount",),
          feedback=({"name": "amount", "required": True},
                    {"name": "quote_note", "label": _label("Quote note", "报价说明"), "type": "text", "required": False})),
    Stage("evaluation", _label("Solution evaluation", "方案评估"), probability=60, rotting_days=14),
    Stage("negotiation", _label("Negotiation", "谈判"), probability=80, rotting_days=7,
          feedback=({"name": "expected_close", "required": True},)),
    Stage("won", _label("Won", "赢单"), kind="won", probability=100),
    Stage("lost", _label("Lost", "输单"), kind="lost", probability=0, feedback=({"name": "lost_reason", "required": True},)),
    Stage("invalid", _label("Invalid", "无效"), kind="invalid", probability=0,
          feedback=({"name": "reason", "label": _label("Why invalid", "无效原因"), "type": "text", "required": True},)),
)


# -- reading ----------------------------------------------------------------------------------


def rules_of(conn: sa.Connection, pipeline_id: int) -> dict[str, dict[str, Any]]:
    """The plugin's rules of one pipeline's stages, by stage key."""
    rows = conn.execute(sa.select(RULES).where(RULES.c.pipeline_id == pipeline_id))
    return {row.key: dict(row._mapping) for row in rows}


def stages_of(site: Site, conn: sa.Connection, pipeline_id: int) -> list[Stage]:
    """A pipeline's stages in order: the kernel's states with this plugin's rules (defaults where none is stored)."""
    states = site.states.definitions(ENTITY, pipeline_id, conn=conn)
    rules = rules_of(conn, pipeline_id)
    found = []
    for state in states:
        rule = rules.get(state.key) or {}
        kind = rule.get("kind") or ("invalid" if state.kind == "closed" else state.kind)
        found.append(Stage(state.key, dict(state.label), kind=kind, probability=int(rule.get("probability") or 0),
                           rotting_days=rule.get("rotting_days"), requires=tuple(state.requires),
                           feedback=tuple(rule.get("feedback") or ())))
    return found


def stage_of(site: Site, conn: sa.Connection, pipeline_id: int, key: str) -> Stage | None:
    return next((s for s in stages_of(site, conn, pipeline_id) if s.key == key), None)


def kind_of(conn: sa.Connection, pipeline_id: int, key: str | None, kernel_kind: str | None = None) -> str:
    """The outcome a stage gives: its rule's kind, else the kernel's kind (``closed`` read as ``invalid``)."""
    if key is not None:
        found = conn.scalar(sa.select(RULES.c.kind).where(RULES.c.pipeline_id == pipeline_id, RULES.c.key == key))
        if found:
            return str(found)
    if kernel_kind is None:
        return "open"
    return "invalid" if kernel_kind == "closed" else kernel_kind


# -- checking rules an admin sends --------------------------------------------------------------


def check_feedback_definitions(site: Site, items: Any, loc: Sequence[Any]) -> list[dict[str, Any]]:
    """A stage's feedback form as sent by an admin, checked: a list of field references or own questions."""
    if not isinstance(items, list):
        raise ValidationError.at([*loc], "must be a list of questions")
    entity = site.view.entity(ENTITY)
    assert entity is not None
    custom = site.view.fields(ENTITY).fields
    names: set[str] = set()
    checked = []
    for index, item in enumerate(items):
        where = [*loc, index]
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"]:
            raise ValidationError.at(where, "each question needs a name")
        name = item["name"]
        if name in names:
            raise ValidationError.at([*where, "name"], f"{name!r} is asked twice")
        names.add(name)
        required = item.get("required", False)
        if not isinstance(required, bool):
            raise ValidationError.at([*where, "required"], "must be true or false")
        if name in entity.columns or name in custom:
            unknown = set(item) - {"name", "required"}
            if unknown:
                raise ValidationError.at([*where, sorted(unknown)[0]], "a question naming a field takes only name and required")
            checked.append({"name": name, "required": required})
            continue
        if not name.isidentifier() or not name.isascii() or len(name) > 40:
            raise ValidationError.at([*where, "name"], "must be a field of opportunities or a snake_case name of at most 40 characters")
        label = item.get("label")
        if not isinstance(label, dict) or set(label) != {"en", "zh_CN"} or not all(isinstance(v, str) and v.strip() for v in label.values()):
            raise ValidationError.at([*where, "label"], 'must be {"en": ..., "zh_CN": ...}')
        kind = item.get("type", "text")
        if kind not in FEEDBACK_TYPES:
            raise ValidationError.at([*where, "type"], f"must be one of {', '.join(FEEDBACK_TYPES)}")
        question = {"name": name, "label": {"en": label["en"].strip(), "zh_CN": label["zh_CN"].strip()}, "type": kind, "required": required}
        if kind == "choice":
            options = item.get("options")
            if not isinstance(options, list) or not options or not all(isinstance(o, str) and o.strip() for o in options):
                raise ValidationError.at([*where, "options"], "a choice needs a list of options")
            question["options"] = [o.strip() for o in options]
        unknown = set(item) - {"name", "label", "type", "required", "options"}
        if unknown:
            raise ValidationError.at([*where, sorted(unknown)[0]], "unknown key")
        checked.append(question)
    return checked


# -- seeding ----------------------------------------------------------------------------------


def define_stages(site: Site, conn: sa.Connection, actor: Actor, pipeline_id: int, stages: Sequence[Stage]) -> None:
    """Give a new pipeline its stages: the kernel's states and this plugin's rules, in ``conn``'s transaction."""
    site.states.define(actor, ENTITY, pipeline_id, [s.state() for s in stages], conn=conn)
    conn.execute(sa.delete(RULES).where(RULES.c.pipeline_id == pipeline_id))
    conn.execute(sa.insert(RULES), [s.rule(pipeline_id) for s in stages])


def default_currency(site: Site) -> str:
    return str(site.plugin_config("pipeline").get("default_currency") or "CNY")


#: The active default pipeline, else the first active one.
_DEFAULT_FIRST = sa.select(PIPELINES.c.id).where(PIPELINES.c.active.is_(True)).order_by(PIPELINES.c.is_default.desc(), PIPELINES.c.id).limit(1)


def default_pipeline_id(site: Site, conn: sa.Connection) -> int:
    """The pipeline new opportunities go to when none is named: the active default one, else the first
    active one; when there is no pipeline at all, 企业销售 is created (first use)."""
    found = conn.scalar(_DEFAULT_FIRST)
    if found is not None:
        return int(found)
    if conn.scalar(sa.select(sa.func.count()).select_from(PIPELINES)):
        raise ValidationError.at(["pipeline_id"], "is required: no pipeline is active")
    currency = default_currency(site)
    created = site.records.create(SEEDER, "pipelines", {"name": DEFAULT_NAME, "is_default": True, "currency": currency}, conn=conn)
    return int(created["id"])


def ensure_default_pipeline(site: Site) -> int:
    """:func:`default_pipeline_id` on its own (pages, widgets, demo, enabling the plugin): read, and only
    when there is no pipeline yet, in a write transaction (SQLite's write lock is not taken to read)."""
    with site.engine.connect() as conn:
        found = conn.scalar(_DEFAULT_FIRST)
    if found is not None:
        return int(found)
    with site.write() as conn:
        return default_pipeline_id(site, conn)
