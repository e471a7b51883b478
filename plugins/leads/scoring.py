"""Lead scoring: rules as data (``leads_score_rules``) turn a lead into a score from 0 to 100 and the
reasons for it (``score`` and ``score_reasons`` of the lead).

A rule is one of four kinds, each worth ``points`` (negative points take away):

* ``field``: a field's value (built-in, or ``custom.NAME``) is one of ``values`` (``source`` is
  ``web_form``; ``industry`` is ``education`` or ``finance``);
* ``filled``: the field has a value (the lead left a phone);
* ``followups``: the lead has at least ``number`` follow-ups;
* ``recency``: the lead was followed up in the last ``number`` days.

The score is the sum of the points of the rules that hold, clamped to 0-100; ``score_reasons``
lists them in rule order, each ``{"label": {"en", "zh_CN"}, "points": N, "rule": ID}``.

When it is computed:

* a lead created or changed one at a time: :func:`score_new` / :func:`score_changes`, from the
  ``before_create`` / ``before_update`` hooks, with the values about to be stored;
* a batch (``update_many``: a recycling job, a mass assignment): :func:`score_batch`, one query for
  the follow-up counts of the whole batch;
* a follow-up: ``customers`` moves the lead's ``last_followed_at`` through the write path, so the
  update hooks above run;
* time passing (recency) and rule edits: :func:`rescore` — one ``UPDATE`` computing every lead's
  score and reasons in SQL, writing only rows whose score or reasons differ (the nightly job
  ``leads.rescore`` and every change of the rules). This is a derived value: it is not audited
  and does not move ``updated_at``.

The same rules are evaluated in Python (for the hooks) and in SQL (for :func:`rescore`);
``tests/test_scoring.py`` checks that both agree.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from kernel import Conflict, NotFound, ValidationError, add_audit_entry, jsonable, site_translations
from kernel.ui import display_fields

from .intake_models import RULES

if TYPE_CHECKING:
    from kernel import Actor, Site

KINDS = ("field", "filled", "followups", "recency")
KIND_LABELS = {
    "field": {"en": "Field value is one of", "zh_CN": "字段值属于"},
    "filled": {"en": "Field has a value", "zh_CN": "字段已填写"},
    "followups": {"en": "At least N follow-ups", "zh_CN": "跟进次数不少于 N 次"},
    "recency": {"en": "Followed up in the last N days", "zh_CN": "最近 N 天内跟进过"},
}
#: Fields a rule may not look at: the score itself, and what every record has.
NOT_SCORED = frozenset({"id", "created_at", "updated_at", "custom", "score", "score_reasons"})
MAX_RULES = 200
MAX_VALUES = 50
LEAD = "leads"


# -- reading the rules ----------------------------------------------------------------------------


def _rule(row: Any) -> dict[str, Any]:
    return {k: getattr(row, k) for k in ("id", "position", "kind", "field", "values", "number", "points", "label", "active")}


def list_rules(conn: sa.Connection, *, active_only: bool = False) -> list[dict[str, Any]]:
    query = sa.select(RULES).order_by(RULES.c.position, RULES.c.id)
    if active_only:
        query = query.where(RULES.c.active.is_(True))
    return [_rule(row) for row in conn.execute(query)]


def active_rules(site: Site, conn: sa.Connection) -> list[dict[str, Any]]:
    return list_rules(conn, active_only=True)


# -- Python: the hooks ----------------------------------------------------------------------------


def _value(lead: dict[str, Any], field: str) -> Any:
    if field.startswith("custom."):
        return (lead.get("custom") or {}).get(field[len("custom."):])
    return lead.get(field)


def _text(value: Any) -> str | None:
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def holds(rule: dict[str, Any], lead: dict[str, Any], followups: int, now: datetime) -> bool:
    """Whether ``rule`` holds for ``lead`` (its values as stored), with ``followups`` follow-ups, at ``now``."""
    kind = rule["kind"]
    if kind == "field":
        return _text(_value(lead, rule["field"])) in {str(v) for v in rule["values"]}
    if kind == "filled":
        return _text(_value(lead, rule["field"])) is not None
    if kind == "followups":
        return followups >= int(rule["number"])
    if kind == "recency":
        at = lead.get("last_followed_at")
        return at is not None and at >= now - timedelta(days=int(rule["number"]))
    return False


def reason(rule: dict[str, Any]) -> dict[str, Any]:
    return {"label": dict(rule["label"]), "points": rule["points"], "rule": rule["id"]}


def compute(rules: Sequence[dict[str, Any]], lead: dict[str, Any], followups: int, now: datetime) -> tuple[int, list[dict[str, Any]]]:
    """``(score, reasons)`` of ``lead``: the points of the rules that hold, clamped to 0-100."""
    reasons = [reason(rule) for rule in rules if holds(rule, lead, followups, now)]
    return max(0, min(100, sum(r["points"] for r in reasons))), reasons


def followup_counts(site: Site, conn: sa.Connection, ids: Sequence[int]) -> dict[int, int]:
    """The number of follow-ups of each lead of ``ids``, one query."""
    wanted = [i for i in ids if i is not None]
    followups = site.view.entity("followups")
    if not wanted or followups is None:
        return {}
    table = followups.table
    query = (
        sa.select(table.c.record_id, sa.func.count())
        .where(table.c.entity == LEAD, table.c.record_id.in_(wanted))
        .group_by(table.c.record_id)
    )
    return {row[0]: row[1] for row in conn.execute(query)}


def _needs_counts(rules: Sequence[dict[str, Any]]) -> bool:
    return any(rule["kind"] == "followups" for rule in rules)


def score_new(site: Site, conn: sa.Connection, values: dict[str, Any]) -> None:
    """Set ``score`` and ``score_reasons`` of a lead about to be created (no follow-ups yet)."""
    rules = active_rules(site, conn)
    values["score"], values["score_reasons"] = compute(rules, values, 0, site.clock.now())


def score_changes(site: Site, conn: sa.Connection, record: dict[str, Any], changes: dict[str, Any]) -> None:
    """Add the new ``score`` and ``score_reasons`` to ``changes`` when they differ from the record's."""
    score_batch(site, conn, [record], [changes])


def score_batch(site: Site, conn: sa.Connection, records: Sequence[dict[str, Any]], changes: Sequence[dict[str, Any]]) -> None:
    """:func:`score_changes` for a batch: one query for the rules, one for the follow-up counts."""
    rules = active_rules(site, conn)
    counts = followup_counts(site, conn, [r.get("id") for r in records]) if _needs_counts(rules) else {}
    now = site.clock.now()
    for record, change in zip(records, changes):
        after = {**record, **change}
        if isinstance(change.get("custom"), dict):
            after["custom"] = change["custom"]
        score, reasons = compute(rules, after, counts.get(record.get("id"), 0), now)
        if score != record.get("score") or reasons != (record.get("score_reasons") or []):
            change["score"], change["score_reasons"] = score, reasons


# -- SQL: the nightly job and rule changes --------------------------------------------------------


def _column(table: sa.Table, field: str) -> Any:
    if field.startswith("custom."):
        return table.c.custom[field[len("custom."):]].as_string()
    column = table.c[field]
    return column if isinstance(column.type, sa.String) else sa.cast(column, sa.String)


def condition(site: Site, rule: dict[str, Any], table: sa.Table, now: datetime) -> Any:
    """The SQL condition on the leads table under which ``rule`` holds (the same as :func:`holds`)."""
    kind = rule["kind"]
    if kind == "field":
        return _column(table, rule["field"]).in_([str(v) for v in rule["values"]])
    if kind == "filled":
        column = _column(table, rule["field"])
        return sa.and_(column.is_not(None), column != "")
    if kind == "followups":
        followups = site.view.entity("followups").table
        count = (
            sa.select(sa.func.count()).select_from(followups)
            .where(followups.c.entity == LEAD, followups.c.record_id == table.c.id)
            .scalar_subquery()
        )
        return count >= int(rule["number"])
    if kind == "recency":
        return sa.and_(table.c.last_followed_at.is_not(None), table.c.last_followed_at >= now - timedelta(days=int(rule["number"])))
    return sa.false()


def _sql_score(site: Site, rules: Sequence[dict[str, Any]], table: sa.Table, now: datetime) -> tuple[Any, Any]:
    """``(score, reasons as JSON text)`` of every lead, as SQL expressions."""
    if not rules:
        return sa.literal(0), sa.literal("[]")
    points: Any = sa.literal(0)
    parts: list[Any] = []
    for rule in rules:
        holds_here = condition(site, rule, table, now)
        points = points + sa.case((holds_here, sa.literal(rule["points"])), else_=sa.literal(0))
        parts.append(sa.case((holds_here, sa.literal(json.dumps(reason(rule), ensure_ascii=False) + ",")), else_=sa.literal("")))
    score = sa.case((points < 0, 0), (points > 100, 100), else_=points)
    listed = parts[0]
    for part in parts[1:]:
        listed = listed.concat(part)
    text = sa.literal("[").concat(sa.func.rtrim(listed, ",")).concat("]")
    return score, text


def rescore(site: Site, conn: sa.Connection, now: datetime, ids: Sequence[int] | None = None) -> int:
    """Recompute every lead's score (or those of ``ids``) in one ``UPDATE``; the number of leads changed."""
    entity = site.view.entity(LEAD)
    if entity is None:
        return 0
    table = entity.table
    rules = active_rules(site, conn)
    score, text = _sql_score(site, rules, table, now)
    if site.engine.dialect.name == "postgresql":
        reasons = sa.cast(text, JSONB)
        stored = sa.func.coalesce(sa.cast(table.c.score_reasons, JSONB), sa.cast(sa.literal("[]"), JSONB))
        differs = sa.or_(table.c.score.is_distinct_from(score), stored != reasons)
        value = reasons
    else:
        stored = sa.func.coalesce(sa.func.json(table.c.score_reasons), "[]")
        differs = sa.or_(table.c.score.is_distinct_from(score), stored != sa.func.json(text))
        value = sa.func.json(text)
    statement = sa.update(table).where(differs).values(score=score, score_reasons=sa.type_coerce(value, table.c.score_reasons.type))
    if ids is not None:
        statement = statement.where(table.c.id.in_(list(ids)))
    return conn.execute(statement).rowcount


def rescore_job(site: Site, now: datetime) -> dict[str, Any]:
    """The nightly job ``leads.rescore``: recency moved on for every lead."""
    with site.write() as conn:
        changed = rescore(site, conn, now)
    return {"rescored": changed}


# -- editing the rules ----------------------------------------------------------------------------


def scorable_fields(site: Site) -> dict[str, Any]:
    """The fields a rule may name (``name`` or ``custom.NAME``) → their :class:`kernel.ui.FormField`."""
    entity = site.view.entity(LEAD)
    if entity is None:
        return {}
    return {f.key: f for f in display_fields(site.view, entity)
            if f.name not in NOT_SCORED and f.name not in entity.hidden and not f.read_only
            and f.widget not in ("list", "multiselect", "date", "datetime")}


def _labels(value: Any) -> dict[str, str] | None:
    if value is None or value == "" or value == {}:
        return None
    if isinstance(value, str):
        value = {"en": value, "zh_CN": value}
    if not isinstance(value, dict) or set(value) - {"en", "zh_CN"} or not all(isinstance(v, str) for v in value.values()):
        raise ValidationError.at(["body", "label"], 'must be {"en": "...", "zh_CN": "..."}')
    texts = {k: v.strip() for k, v in value.items() if v.strip()}
    if any(len(v) > 200 for v in texts.values()):
        raise ValidationError.at(["body", "label"], "must be at most 200 characters")
    if not texts:
        return None
    return {"en": texts.get("en") or texts["zh_CN"], "zh_CN": texts.get("zh_CN") or texts["en"]}


def default_label(site: Site, rule: dict[str, Any]) -> dict[str, str]:
    """A rule's words when the admin gave none: "Source Web form" / "来源 官网", "Followed up in the last 7 days"."""
    kind, number = rule["kind"], rule.get("number")
    if kind == "followups":
        return {"en": f"{number} or more follow-ups", "zh_CN": f"跟进 {number} 次以上"}
    if kind == "recency":
        return {"en": f"Followed up in the last {number} days", "zh_CN": f"{number} 天内跟进过"}
    found = scorable_fields(site).get(rule["field"])
    labels = {}
    for locale in ("en", "zh_CN"):
        gettext = _catalog(site, locale)
        name = found.label_text(locale, gettext) if found is not None else rule["field"]
        if kind == "filled":
            labels[locale] = f"Has {name.lower()}" if locale == "en" else f"已填写{name}"
        else:
            shown = [found.choice_label(v, locale, gettext) if found is not None else str(v) for v in rule["values"]]
            labels[locale] = f"{name} {'/'.join(shown)}"
    return labels


def _catalog(site: Site, locale: str) -> Any:
    return site_translations(site, locale).gettext


def clean_rule(site: Site, body: Any, current: dict[str, Any] | None = None) -> dict[str, Any]:
    """A rule as stored, from a JSON body (or the form); each refusal names its field."""
    if not isinstance(body, dict):
        raise ValidationError.at(["body"], "must be a JSON object")
    allowed_keys = ("kind", "field", "values", "number", "points", "label", "active", "position")
    unknown = [k for k in body if k not in allowed_keys]
    if unknown:
        raise ValidationError.at(["body", unknown[0]], f"unknown field (allowed: {', '.join(allowed_keys)})")
    merged = {**(current or {}), **body}
    kind = merged.get("kind")
    if kind not in KINDS:
        raise ValidationError.at(["body", "kind"], f"must be one of {', '.join(KINDS)}")
    points = merged.get("points")
    if not isinstance(points, int) or isinstance(points, bool) or not -100 <= points <= 100:
        raise ValidationError.at(["body", "points"], "must be a whole number from -100 to 100")
    active = merged.get("active", True)
    if not isinstance(active, bool):
        raise ValidationError.at(["body", "active"], "must be true or false")
    position = merged.get("position", 0)
    if not isinstance(position, int) or isinstance(position, bool) or not 0 <= position <= 10_000:
        raise ValidationError.at(["body", "position"], "must be a whole number from 0 to 10000")
    field, values, number = None, [], None
    if kind in ("field", "filled"):
        field = merged.get("field")
        fields = scorable_fields(site)
        if not isinstance(field, str) or field not in fields:
            raise ValidationError.at(["body", "field"], f"must be a field of leads ({', '.join(sorted(fields))})")
        if kind == "field":
            values = merged.get("values")
            if isinstance(values, str):
                values = [v.strip() for v in values.replace("，", ",").split(",") if v.strip()]
            if not isinstance(values, list) or not values or len(values) > MAX_VALUES:
                raise ValidationError.at(["body", "values"], f"must list 1 to {MAX_VALUES} values")
            if not all(isinstance(v, (str, int)) and not isinstance(v, bool) and str(v).strip() for v in values):
                raise ValidationError.at(["body", "values"], "must be texts or numbers")
            values = [str(v).strip() for v in values]
            choices = fields[field].choices
            wrong = [v for v in values if choices and v not in choices]
            if wrong:
                raise ValidationError.at(["body", "values"], f"{wrong[0]!r} is not a choice of {field} ({', '.join(choices)})")
    else:
        number = merged.get("number")
        limit = 3650 if kind == "recency" else 10_000
        if not isinstance(number, int) or isinstance(number, bool) or not 1 <= number <= limit:
            raise ValidationError.at(["body", "number"], f"must be a whole number from 1 to {limit}")
    rule = {"kind": kind, "field": field, "values": values, "number": number, "points": points, "active": active, "position": position}
    rule["label"] = _labels(merged.get("label") if "label" in body or current is None else current.get("label")) or default_label(site, rule)
    return rule


def get_rule(conn: sa.Connection, rule_id: int) -> dict[str, Any]:
    row = conn.execute(sa.select(RULES).where(RULES.c.id == rule_id)).first()
    if row is None:
        raise NotFound(f"no scoring rule {rule_id}", [{"loc": ["path", "id"], "msg": "no such rule"}])
    return _rule(row)


def create_rule(site: Site, actor: Actor, body: Any) -> dict[str, Any]:
    """Store a new rule and rescore every lead, in one transaction (audited as ``leads.score_rules``)."""
    values = clean_rule(site, body)
    now = site.clock.now()
    with site.write() as conn:
        if conn.scalar(sa.select(sa.func.count()).select_from(RULES)) >= MAX_RULES:
            raise Conflict(f"at most {MAX_RULES} scoring rules", [{"loc": ["body"], "msg": "too many rules"}])
        rule_id = conn.execute(sa.insert(RULES).values(**values, created_at=now, updated_at=now).returning(RULES.c.id)).scalar_one()
        add_audit_entry(conn, actor, "leads.score_rules", rule_id, "create", jsonable(values), at=now)
        rescore(site, conn, now)
        return get_rule(conn, rule_id)


def update_rule(site: Site, actor: Actor, rule_id: int, body: Any) -> dict[str, Any]:
    now = site.clock.now()
    with site.write() as conn:
        current = get_rule(conn, rule_id)
        values = clean_rule(site, body, current)
        changed = {k: v for k, v in values.items() if v != current[k]}
        if changed:
            conn.execute(sa.update(RULES).where(RULES.c.id == rule_id).values(**changed, updated_at=now))
            add_audit_entry(conn, actor, "leads.score_rules", rule_id, "update", jsonable(changed), at=now)
            rescore(site, conn, now)
        return get_rule(conn, rule_id)


def delete_rule(site: Site, actor: Actor, rule_id: int) -> None:
    now = site.clock.now()
    with site.write() as conn:
        current = get_rule(conn, rule_id)
        conn.execute(sa.delete(RULES).where(RULES.c.id == rule_id))
        add_audit_entry(conn, actor, "leads.score_rules", rule_id, "delete", jsonable(current), at=now)
        rescore(site, conn, now)


# -- the explanation on the lead's page -----------------------------------------------------------


def explain(site: Site, record: dict[str, Any], locale: str, now: datetime) -> list[dict[str, Any]]:
    """The lead's reasons in words: "来源 官网 +20", and for a recency rule "2 天前跟进 +15"."""
    with site.engine.connect() as conn:
        kinds = {row.id: row.kind for row in conn.execute(sa.select(RULES.c.id, RULES.c.kind))}
    shown = []
    for item in record.get("score_reasons") or []:
        label = item.get("label") or {}
        text = label.get(locale) or label.get("en") or ""
        at = record.get("last_followed_at")
        if kinds.get(item.get("rule")) == "recency" and at is not None:
            days = max(0, (now - at).days)
            if locale == "zh_CN":
                text = f"{days} 天前跟进" if days else "今天跟进过"
            else:
                text = f"followed up {days} day{'s' if days != 1 else ''} ago" if days else "followed up today"
        points = int(item.get("points") or 0)
        shown.append({"text": text, "points": points, "sign": f"+{points}" if points >= 0 else str(points)})
    return shown
