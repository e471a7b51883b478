"""Targets: goals per metric and period, for a user, a team or everyone, set by admins.

A target (entity ``targets``) names a ``metric`` — a plugin's word for what is
counted or summed, such as ``"won_amount"`` or ``"collected"`` — a ``period``
(``month``, ``quarter``, ``year``) starting on ``period_start`` (the period's
first day), who it is for (``user_id``, ``team_id``, or neither: everyone) and
either an ``amount`` in a ``currency`` or a ``count``. Admins enter them through
the generic API (``POST /api/v1/targets``), the UI or an import; plugins read
them with :func:`targets_vs_actuals`, which sets each beside the actual figure
computed by :meth:`~kernel.records.Records.aggregate` — so a plugin needs
no other plugin to compare its numbers with their goals.

Who sees a target: a user their own, their team's and everyone's; a manager also
their team members' (the usual record scope); admins and executives all.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field

from .errors import ValidationError
from .money import MINOR_UNITS, parse_money

if TYPE_CHECKING:
    from .records import Actor
    from .site import Site

ENTITY = "targets"
PERIODS = ("month", "quarter", "year")
ADMIN_ONLY = ("create", "update", "delete", "assign")


def _label(en: str, zh: str, **extra: Any) -> dict[str, Any]:
    return {"x-label": {"en": en, "zh_CN": zh}, **extra}


class TargetFields(BaseModel):
    """What an admin sends for a target."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    metric: str = Field(max_length=80, pattern=r"^[a-z][a-z0-9_.]{0,79}$", json_schema_extra=_label("Metric", "指标"))
    period: Literal["month", "quarter", "year"] = Field("month", json_schema_extra=_label("Period", "周期", **{"x-labels": {
        "month": {"en": "Month", "zh_CN": "月"}, "quarter": {"en": "Quarter", "zh_CN": "季度"}, "year": {"en": "Year", "zh_CN": "年"}}}))
    period_start: date = Field(json_schema_extra=_label("Period start", "周期开始"))
    user_id: int | None = Field(None, ge=1, json_schema_extra=_label("User", "用户"))
    team_id: int | None = Field(None, ge=1, json_schema_extra=_label("Team", "团队"))
    amount: Decimal | None = Field(None, json_schema_extra=_label("Amount", "金额"))
    currency: str | None = Field(None, max_length=3, pattern=r"^[A-Z]{3}$", json_schema_extra=_label("Currency", "币种"))
    count: int | None = Field(None, ge=0, le=2**62, json_schema_extra=_label("Count", "数量"))
    note: str = Field("", max_length=2000, json_schema_extra=_label("Note", "备注"))



def check(values: dict[str, Any]) -> None:
    """Refuse a target (as it would be stored) whose parts disagree, naming the field."""
    start, period = values.get("period_start"), values.get("period", "month")
    if isinstance(start, date) and (start.day != 1 or (period == "quarter" and start.month % 3 != 1) or (period == "year" and start.month != 1)):
        raise ValidationError.at(["period_start"], f"must be the first day of a {period}")
    if values.get("user_id") is not None and values.get("team_id") is not None:
        raise ValidationError.at(["team_id"], "a target is for a user or for a team (or, with neither, for everyone), not both")
    amount, count, currency = values.get("amount"), values.get("count"), values.get("currency")
    if (amount is None) == (count is None):
        raise ValidationError.at(["amount" if amount is not None else "count"], "give an amount (with its currency) or a count")
    if amount is None:
        if currency is not None:
            raise ValidationError.at(["currency"], "a count has no currency")
        return
    if currency not in MINOR_UNITS:
        raise ValidationError.at(["currency"], f"an amount needs its currency, one of {', '.join(sorted(MINOR_UNITS))}")
    try:
        values["amount"] = parse_money(amount, currency)
    except ValueError as exc:
        raise ValidationError.at(["amount"], str(exc)) from None


def permissions() -> list[dict[str, Any]]:
    """Targets are set by admins only (the roles' read scopes are the derived ones)."""
    return [
        {"name": f"{ENTITY}.{op}", "label": {"en": f"Targets: {op}", "zh_CN": f"目标：{ {'create': '新建', 'update': '编辑', 'delete': '删除', 'assign': '分配'}[op]}"}, "roles": []}
        for op in ADMIN_ONLY
    ]


def shared_rule(actor: Actor, table: sa.Table) -> sa.ColumnElement[bool] | None:
    """Besides one's own: everyone's targets and those of the actor's team or of teams they manage."""
    if actor.user_id is None:
        return None
    from .models import Team

    teams = Team.__table__
    mine = sa.select(teams.c.id).where(teams.c.manager_id == actor.user_id)
    team = sa.or_(table.c.team_id == actor.team_id, table.c.team_id.in_(mine)) if actor.team_id is not None else table.c.team_id.in_(mine)
    return sa.or_(sa.and_(table.c.user_id.is_(None), table.c.team_id.is_(None)), team)


def targets_vs_actuals(
    site: Site,
    actor: Actor,
    metric: str,
    *,
    entity: str,
    measure: str,
    date_field: str,
    period: str = "month",
    filters: dict[str, Any] | None = None,
    owner_field: str | None = None,
) -> list[dict[str, Any]]:
    """Each target of ``metric`` and ``period`` that ``actor`` may see, with the actual figure.

    The actuals are one :meth:`~kernel.records.Records.aggregate` of ``entity`` under
    ``actor``'s record rules: ``measure`` (``"count"``, ``"sum:amount"``…) grouped by its
    owner field and ``date_field:period``, ``filters`` applied (``{"outcome": "won"}``).
    A user's target gets that user's figure, a team's the sum of its members' (direct
    members), everyone's the total; a money target counts only its own currency.
    Returns ``[{"target_id", "metric", "period_start", "user_id", "team_id", "currency",
    "target", "actual", "attainment"}]`` (``attainment``: actual ÷ target, 4 decimals,
    ``None`` for a zero target), by period then id.
    """
    if period not in PERIODS:
        raise ValueError(f"period must be one of {PERIODS}")
    view = site.view
    source = view.entity(entity)
    owner = owner_field or (source.owner_field if source is not None else None)
    if owner is None:
        raise ValueError(f"{entity!r} has no owner field: name one with owner_field=")
    targets = site.records.list(actor, ENTITY, filters={"metric": metric, "period": period}, sort="period_start", limit=500).items
    if not targets:
        return []
    first = min(t["period_start"] for t in targets)
    wanted = dict(filters or {})
    wanted.setdefault(f"{date_field}__gte", _since(site, source, date_field, first))
    found = site.records.aggregate(actor, entity, group_by=[owner, f"{date_field}:{period}"], measures=[measure], filters=wanted, limit=10_000)
    actual: dict[tuple[Any, str, str | None], Any] = {}
    for group in found.groups:
        user, start = group["key"]
        actual[(user, start, group.get("currency"))] = group[measure]
    members = _members(site, {t["team_id"] for t in targets if t["team_id"] is not None})
    answer = []
    for target in targets:
        start, currency = target["period_start"].isoformat(), target["currency"]
        if target["user_id"] is not None:
            who: set[Any] | None = {target["user_id"]}
        elif target["team_id"] is not None:
            who = members.get(target["team_id"], set())
        else:
            who = None  # everyone
        values = [v for (user, at, cur), v in actual.items() if at == start and (who is None or user in who) and (currency is None or cur in (currency, None))]
        total = sum(values, Decimal(0) if target["amount"] is not None else 0)
        goal = target["amount"] if target["amount"] is not None else target["count"]
        answer.append(
            {
                "target_id": target["id"],
                "metric": target["metric"],
                "period_start": target["period_start"],
                "user_id": target["user_id"],
                "team_id": target["team_id"],
                "currency": currency,
                "target": goal,
                "actual": total,
                "attainment": (Decimal(total) / Decimal(goal)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP) if goal else None,
            }
        )
    return answer


def _since(site: Site, entity: Any, date_field: str, first: date) -> str:
    """The lower bound of the actuals: ``first`` itself for a date, its first instant in the site's zone for a moment."""
    from .timezones import day_start, site_zone

    column = entity.table.c.get(date_field)
    if column is not None:
        try:
            is_date = column.type.python_type is date
        except NotImplementedError:
            is_date = False
    else:
        fields = site.view.fields(entity.name)
        is_date = date_field in fields and fields[date_field].kind == "date"
    return first.isoformat() if is_date else day_start(first, site_zone(site)).isoformat()


def _members(site: Site, team_ids: set[int]) -> dict[int, set[int]]:
    if not team_ids:
        return {}
    from .models import User

    users = User.__table__
    with site.engine.connect() as conn:
        rows = conn.execute(sa.select(users.c.id, users.c.team_id).where(users.c.team_id.in_(team_ids))).all()
    found: dict[int, set[int]] = {}
    for user_id, team_id in rows:
        found.setdefault(team_id, set()).add(user_id)
    return found
