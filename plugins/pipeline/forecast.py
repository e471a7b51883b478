"""The forecast: open pipeline by expected close month, commit and best case, against the kernel's targets.

For the open opportunities (outcome ``open``) the reader may see, filtered like a list (owner, team,
pipeline…), per month of ``expected_close`` and per currency, in one SQL statement:

* **best case**: the sum of every open amount;
* **commit**: the sum of the amounts whose probability is at least the commit threshold
  (``commit_probability``, 70 unless the ``[plugins.pipeline]`` setting says otherwise);
* **weighted**: the sum of amount × probability ÷ 100 (an empty probability counts as 0).

Beside them, **won**: the amounts won per month (``won_at`` in the site's time zone), and the
targets of metric ``won_amount`` (:func:`kernel.targets_vs_actuals`: per rep, team or everyone,
per month) with their actual won amount and attainment, plus the commit and weighted pipeline of
the same people and month, and ``projected`` = won + commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from kernel import minor_digits, targets_vs_actuals

from .stages import ENTITY

if TYPE_CHECKING:
    from kernel import Actor, Site

METRIC = "won_amount"
DEFAULT_COMMIT = 70


@dataclass(frozen=True)
class ForecastQuery:
    """Months ``first`` to ``last`` (first days, both included) and list filters on opportunities."""

    first: date
    last: date
    filters: dict[str, Any] = field(default_factory=dict)


def commit_probability(site: Site) -> int:
    """The probability (percent) from which an open opportunity counts as commit."""
    value = site.plugin_config("pipeline").get("commit_probability", DEFAULT_COMMIT)
    return int(value) if isinstance(value, int) else DEFAULT_COMMIT


def _month(dialect: str, column: Any) -> Any:
    if dialect == "postgresql":
        return sa.func.to_char(column, "YYYY-MM")
    return sa.func.strftime("%Y-%m", column)


def next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _exact(dialect: str, scale: int, currency: str, raw: Any, hundredths: bool = False) -> Decimal:
    """A sum read back as a Decimal in ``currency``: SQLite's Money holds minor units; ``hundredths``
    when the sum was multiplied by a probability in percent."""
    value = Decimal(raw or 0)
    if dialect != "postgresql":
        value = value.scaleb(-scale)
    if hundredths:
        value = value / 100
    return value.quantize(Decimal(1).scaleb(-minor_digits(currency)), rounding=ROUND_HALF_UP)


def raw(expression: Any) -> Any:
    """The database's own number (minor units on SQLite), not read back through the Money type."""
    return sa.type_coerce(expression, sa.types.NullType())


def open_pipeline(site: Site, actor: Actor, query: ForecastQuery) -> list[dict[str, Any]]:
    """Per expected close month, owner and currency: open count, best case, commit and weighted amounts."""
    dialect = site.engine.dialect.name
    table = site.view.entity(ENTITY).table
    scale = table.c.amount.type.scale
    threshold = commit_probability(site)
    listed = site.records.list_query(actor, ENTITY, filters={**query.filters, "outcome": "open"}, limit=1)
    month = _month(dialect, table.c.expected_close).label("month")
    probability = sa.func.coalesce(table.c.probability, 0)
    statement = (
        listed.with_only_columns(
            month, table.c.owner_id, table.c.currency,
            sa.func.count().label("open"),
            raw(sa.func.sum(table.c.amount)).label("best_case"),
            raw(sa.func.sum(sa.case((probability >= threshold, table.c.amount), else_=0))).label("commit"),
            raw(sa.func.sum(table.c.amount * probability)).label("weighted"),
        )
        .where(table.c.expected_close >= query.first, table.c.expected_close < next_month(query.last))
        .group_by(month, table.c.owner_id, table.c.currency)
        .order_by(None).limit(None).offset(None)
        .order_by(month, table.c.currency, table.c.owner_id)
    )
    with site.engine.connect() as conn:
        rows = conn.execute(statement).all()
    return [
        {
            "month": row.month, "owner_id": row.owner_id, "currency": row.currency, "open": row.open,
            "best_case": _exact(dialect, scale, row.currency, row.best_case),
            "commit": _exact(dialect, scale, row.currency, row.commit),
            "weighted": _exact(dialect, scale, row.currency, row.weighted, hundredths=True),
        }
        for row in rows
    ]


def won_by_month(site: Site, actor: Actor, query: ForecastQuery) -> list[dict[str, Any]]:
    """Per month of ``won_at`` (the site's zone), owner and currency: the amounts won (the kernel's aggregate)."""
    from kernel import day_start, site_zone

    zone = site_zone(site)
    filters = {**query.filters, "outcome": "won", "won_at__gte": day_start(query.first, zone), "won_at__lt": day_start(next_month(query.last), zone)}
    found = site.records.aggregate(actor, ENTITY, group_by=["won_at:month", "owner_id"], measures=["count", "sum:amount"], filters=filters, limit=10_000)
    return [
        {"month": group["key"][0][:7], "owner_id": group["key"][1], "currency": group.get("currency"), "won": group["sum:amount"] or Decimal(0),
         "won_count": group["count"]}
        for group in found.groups
    ]


def months_between(first: date, last: date) -> list[str]:
    months, day = [], first
    while day <= last:
        months.append(day.strftime("%Y-%m"))
        day = next_month(day)
    return months


def forecast(site: Site, actor: Actor, query: ForecastQuery) -> dict[str, Any]:
    """The forecast of ``query`` as ``actor`` may see it.

    ``{"commit_probability", "months": [{"month", "currency", "open", "best_case", "commit", "weighted", "won"}],
    "targets": [{"target_id", "period_start", "user_id", "team_id", "currency", "target", "actual", "attainment",
    "best_case", "commit", "weighted", "projected", "projected_attainment"}]}``.
    """
    pipeline = open_pipeline(site, actor, query)
    won = won_by_month(site, actor, query)
    wanted = months_between(query.first, query.last)
    totals: dict[tuple[str, str], dict[str, Any]] = {}

    def total(month: str, currency: str) -> dict[str, Any]:
        return totals.setdefault((month, currency), {"month": month, "currency": currency, "open": 0, "best_case": Decimal(0),
                                                     "commit": Decimal(0), "weighted": Decimal(0), "won": Decimal(0)})

    for row in pipeline:  # already grouped in SQL: a handful of rows per month
        each = total(row["month"], row["currency"])
        for key in ("open", "best_case", "commit", "weighted"):
            each[key] += row[key]
    for row in won:
        if row["currency"]:
            total(row["month"], row["currency"])["won"] += row["won"]
    months = [totals[key] for key in sorted(totals) if key[0] in wanted]
    return {
        "commit_probability": commit_probability(site),
        "first": query.first,
        "last": query.last,
        "months": months,
        "targets": _targets(site, actor, query, pipeline, set(wanted)),
    }


def _targets(site: Site, actor: Actor, query: ForecastQuery, pipeline: list[dict[str, Any]], wanted: set[str]) -> list[dict[str, Any]]:
    """The reader's ``won_amount`` targets of the months asked, with actual won, attainment and the pipeline behind them."""
    found = targets_vs_actuals(site, actor, METRIC, entity=ENTITY, measure="sum:amount", date_field="won_at",
                               filters={**query.filters, "outcome": "won"})
    users = site.view.entity("users").table
    teams = {t["team_id"] for t in found if t["team_id"] is not None}
    members: dict[int, set[int]] = {}
    if teams:
        with site.engine.connect() as conn:
            for user_id, team_id in conn.execute(sa.select(users.c.id, users.c.team_id).where(users.c.team_id.in_(teams))):
                members.setdefault(team_id, set()).add(user_id)
    answer = []
    for target in found:
        month = target["period_start"].strftime("%Y-%m")
        if month not in wanted:
            continue
        who = {target["user_id"]} if target["user_id"] is not None else members.get(target["team_id"]) if target["team_id"] is not None else None
        mine = [row for row in pipeline if row["month"] == month and (who is None or row["owner_id"] in who)
                and (target["currency"] is None or row["currency"] == target["currency"])]
        sums = {key: sum((row[key] for row in mine), Decimal(0)) for key in ("best_case", "commit", "weighted")}
        actual = Decimal(target["actual"] or 0)
        projected = actual + sums["commit"]
        goal = target["target"]
        answer.append({
            **target,
            **sums,
            "projected": projected,
            "projected_attainment": (projected / Decimal(goal)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP) if goal else None,
        })
    return answer
