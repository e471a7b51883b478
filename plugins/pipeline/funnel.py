"""The stage conversion analysis (销售阶段转化分析): one pipeline's funnel over a period, from its state events.

Every move of an opportunity is a row of the kernel's state events (``kernel_state_events``:
``record_id``, ``from_state``, ``to_state``, ``kind``, ``at``, ``seconds`` spent in ``from_state``,
the ``snapshot`` of amount and currency). The funnel reads the events of one pipeline (the state
set ``set_key`` = the pipeline's id) whose ``at`` falls in the period ``[start, end)``, about the
opportunities the reader may see (``site.records.list_query``: the record rules, and the filters
— owner, team, source, any custom field). Definitions (documented in DOCS_ANALYSIS.md):

* **entered** S: opportunities with at least one move into S in the period, each counted once
  however often it came back (a back-move and a return count once);
* **moved on** from S: of those, the ones that later in the period left S *forward* — to a later
  open stage (skipping some counts) or to a won stage; a move back or to a lost / invalid stage is not;
* **lost** from S: of those, the ones that left S for a lost or invalid stage later in the period;
* **conversion** S → next = moved on ÷ entered; **drop-off** = entered − moved on;
* **time in stage** S: every stay in S that *ended* in the period (a move out of S), its length
  the event's ``seconds``; the average and the median (the middle stay, or the mean of the two
  middle ones) — stays still running are not counted;
* **overall conversion**: of the opportunities that entered the first stage in the period, the
  share that entered a won stage after it in the period;
* **win rate**: opportunities won in the period ÷ (won + lost) in the period (invalid ones are left out);
* **velocity** (per currency): entered first stage × win rate × average won amount ÷ average
  sales cycle in days (won time − the opportunity's creation), i.e. the expected won amount per day.

Each figure is computed in SQL: one statement for the stage table, one for the time in stage
(``percentile_cont`` on PostgreSQL, ``row_number()`` over the stays on SQLite), one for the
outcomes, the money and the lost reasons.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from kernel import minor_digits, state_events_table

from .stages import ENTITY, Stage, stages_of

if TYPE_CHECKING:
    from kernel import Actor, Site

EVENTS = state_events_table()
#: Amounts in snapshots are decimal text; SQLite sums them as whole thousandths (exact, see _amount).
THOUSANDTHS = 1000
DAY = 86400


@dataclass(frozen=True)
class FunnelQuery:
    """What the funnel is asked for: a pipeline, the period ``[start, end)`` (``None``: open-ended) and
    list filters on opportunities (``{"owner_id": 3, "team_id": 2, "source": "web", "industry": "x"}``)."""

    pipeline_id: int
    start: datetime | None = None
    end: datetime | None = None
    filters: dict[str, Any] = field(default_factory=dict)


def _ratio(part: int | None, whole: int | None) -> Decimal | None:
    """``part / whole`` to 4 decimals (``None`` when ``whole`` is 0)."""
    if not whole:
        return None
    return (Decimal(part or 0) / Decimal(whole)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


def _seconds_value(value: Any) -> Decimal | None:
    """An average or median number of seconds, to one decimal, the same on both databases."""
    if value is None:
        return None
    return Decimal(str(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def _events(site: Site, actor: Actor, query: FunnelQuery) -> sa.CTE:
    """The pipeline's state events in the period, about opportunities ``actor`` may see that match the filters."""
    conditions = [EVENTS.c.entity == ENTITY, EVENTS.c.set_key == str(query.pipeline_id)]
    if query.start is not None:
        conditions.append(EVENTS.c.at >= query.start)
    if query.end is not None:
        conditions.append(EVENTS.c.at < query.end)
    # the record rules and filters, exactly as a list of opportunities applies them (authorizes the read too)
    listed = site.records.list_query(actor, ENTITY, filters=query.filters, limit=1)
    visible = site.records.visible(actor, ENTITY)
    if query.filters or not isinstance(visible, sa.sql.elements.True_):
        table = site.view.entity(ENTITY).table
        ids = listed.with_only_columns(table.c.id).order_by(None).limit(None).offset(None)
        conditions.append(EVENTS.c.record_id.in_(ids))
    columns = (EVENTS.c.id, EVENTS.c.record_id, EVENTS.c.from_state, EVENTS.c.to_state, EVENTS.c.kind, EVENTS.c.at, EVENTS.c.seconds)
    return sa.select(*columns, EVENTS.c.snapshot).where(*conditions).cte("ev")


def _rank(stages: list[Stage], column: Any) -> Any:
    """A stage's place in the funnel's order: open stages 1…n, won stages n+1; lost and invalid 0."""
    opened = [s for s in stages if s.kind == "open"]
    ranks = {s.key: i + 1 for i, s in enumerate(opened)}
    ranks.update({s.key: len(opened) + 1 for s in stages if s.kind == "won"})
    return sa.case(ranks, value=column, else_=0) if ranks else sa.literal(0)


def _stage_table(ev: sa.CTE, stages: list[Stage]) -> sa.Select[Any]:
    """Per stage: entered, moved on and lost, each opportunity once (one pass over the events)."""
    forward = _rank(stages, ev.c.to_state) > _rank(stages, ev.c.from_state)
    ended = ev.c.kind.in_(("lost", "closed"))
    null = sa.null().cast(sa.BigInteger)
    marks = sa.union_all(
        sa.select(ev.c.record_id, ev.c.to_state.label("stage"), ev.c.id.label("entry"), null.label("fwd"), null.label("lost")),
        sa.select(ev.c.record_id, ev.c.from_state, null, sa.case((forward, ev.c.id)), sa.case((ended, ev.c.id)))
        .where(ev.c.from_state.is_not(None), sa.or_(forward, ended)),
    ).subquery("marks")
    per = (
        sa.select(
            marks.c.stage,
            sa.func.min(marks.c.entry).label("first_in"),
            sa.func.max(marks.c.fwd).label("last_fwd"),
            sa.func.max(marks.c.lost).label("last_lost"),
        )
        .group_by(marks.c.record_id, marks.c.stage)
        .subquery("per")
    )
    return sa.select(
        per.c.stage,
        sa.func.count(per.c.first_in).label("entered"),
        sa.func.count(sa.case((per.c.last_fwd > per.c.first_in, 1))).label("moved_on"),
        sa.func.count(sa.case((per.c.last_lost > per.c.first_in, 1))).label("lost"),
    ).group_by(per.c.stage)


def _time_in_stage(ev: sa.CTE, dialect: str) -> sa.Select[Any]:
    """Per stage left in the period: the stays, their average and median length in seconds."""
    ended = [ev.c.from_state.is_not(None), ev.c.seconds.is_not(None)]
    if dialect == "postgresql":
        median = sa.func.percentile_cont(0.5).within_group(ev.c.seconds)
        return sa.select(
            ev.c.from_state.label("stage"), sa.func.count().label("stays"), sa.func.avg(ev.c.seconds).label("avg_seconds"),
            median.label("median_seconds"),
        ).where(*ended).group_by(ev.c.from_state)
    ranked = sa.select(
        ev.c.from_state.label("stage"),
        ev.c.seconds,
        sa.func.row_number().over(partition_by=ev.c.from_state, order_by=ev.c.seconds).label("rn"),
        sa.func.count().over(partition_by=ev.c.from_state).label("n"),
    ).where(*ended).subquery("stays")
    middle = ranked.c.rn.in_([(ranked.c.n + 1) // 2, (ranked.c.n + 2) // 2])  # integer division: one or the two middle stays
    return sa.select(
        ranked.c.stage, sa.func.count().label("stays"), sa.func.avg(ranked.c.seconds).label("avg_seconds"),
        sa.func.avg(sa.case((middle, ranked.c.seconds))).label("median_seconds"),
    ).group_by(ranked.c.stage)


def _outcomes(ev: sa.CTE, first: str | None, query: FunnelQuery) -> sa.Select[Any]:
    """Won, lost and invalid opportunities in the period, and how many of the first stage's entrants won."""
    def distinct(kind: str) -> Any:
        return sa.func.count(sa.distinct(sa.case((ev.c.kind == kind, ev.c.record_id))))

    earlier = EVENTS.alias("earlier")  # the table, not the CTE: its (entity, record_id, id) index answers each win
    came_in = sa.exists().where(
        earlier.c.entity == ENTITY, earlier.c.record_id == ev.c.record_id, earlier.c.set_key == str(query.pipeline_id),
        earlier.c.to_state == first, earlier.c.id < ev.c.id,
        *((earlier.c.at >= query.start,) if query.start is not None else ()), *((earlier.c.at < query.end,) if query.end is not None else ()),
    )
    converted = sa.func.count(sa.distinct(sa.case((sa.and_(ev.c.kind == "won", came_in), ev.c.record_id))))
    return sa.select(
        distinct("won").label("won"), distinct("lost").label("lost"), distinct("closed").label("invalid"),
        (converted if first is not None else sa.literal(0)).label("converted"),
    ).where(ev.c.kind != "open")


def _amount(dialect: str, snapshot: Any) -> Any:
    """The snapshot's amount as an exact number: NUMERIC on PostgreSQL, whole thousandths on SQLite."""
    text = snapshot["amount"].as_string()
    if dialect == "postgresql":
        return sa.cast(text, sa.Numeric)
    return sa.cast(sa.func.round(sa.cast(text, sa.Float) * THOUSANDTHS), sa.BigInteger)


def _money(site: Site, ev: sa.CTE) -> sa.Select[Any]:
    """Per currency: wins in the period, their amounts (as snapshotted) and the sales cycle in seconds."""
    dialect = site.engine.dialect.name
    table = site.view.entity(ENTITY).table
    if dialect == "postgresql":
        cycle = sa.func.extract("epoch", ev.c.at - table.c.created_at)
    else:
        cycle = (sa.func.julianday(ev.c.at) - sa.func.julianday(table.c.created_at)) * DAY
    currency = sa.func.coalesce(ev.c.snapshot["currency"].as_string(), table.c.currency)
    return (
        sa.select(
            currency.label("currency"), sa.func.count().label("wins"), sa.func.sum(_amount(dialect, ev.c.snapshot)).label("amount"),
            sa.func.count(_amount(dialect, ev.c.snapshot)).label("amounts"), sa.func.avg(cycle).label("cycle_seconds"),
        )
        .select_from(ev.join(table, table.c.id == ev.c.record_id))
        .where(ev.c.kind == "won")
        .group_by(currency)
        .order_by(currency)
    )


def _lost_reasons(site: Site, ev: sa.CTE) -> sa.Select[Any]:
    table = site.view.entity(ENTITY).table
    return (
        sa.select(table.c.lost_reason.label("code"), sa.func.count(sa.distinct(ev.c.record_id)).label("count"))
        .select_from(ev.join(table, table.c.id == ev.c.record_id))
        .where(ev.c.kind == "lost")
        .group_by(table.c.lost_reason)
        .order_by(sa.desc("count"), table.c.lost_reason)
    )


def _sum(dialect: str, currency: str, raw: Any) -> Decimal:
    total = Decimal(raw or 0) if dialect == "postgresql" else Decimal(int(raw or 0)) / THOUSANDTHS
    return total.quantize(Decimal(1).scaleb(-minor_digits(currency)), rounding=ROUND_HALF_UP)


def funnel(site: Site, actor: Actor, query: FunnelQuery) -> dict[str, Any]:
    """The funnel of ``query`` as ``actor`` may see it (see the module for every definition).

    ``{"pipeline_id", "from", "to", "stages": [{"key", "label", "kind", "entered", "moved_on", "lost",
    "dropped", "conversion", "stays", "avg_seconds", "median_seconds"}], "entered", "won", "lost",
    "invalid", "converted", "overall_conversion", "win_rate", "money": [{"currency", "wins",
    "won_amount", "avg_won_amount", "avg_cycle_days", "velocity"}], "lost_reasons": [{"code", "label", "count"}]}``.
    """
    dialect = site.engine.dialect.name
    with site.engine.connect() as conn:
        stages = stages_of(site, conn, query.pipeline_id)
        ev = _events(site, actor, query)
        counted = {row.stage: row for row in conn.execute(_stage_table(ev, stages))}
        timed = {row.stage: row for row in conn.execute(_time_in_stage(ev, dialect))}
        opened = [s for s in stages if s.kind == "open"]
        first = opened[0].key if opened else None
        outcome = conn.execute(_outcomes(ev, first, query)).one()
        money_rows = conn.execute(_money(site, ev)).all()
        reasons = conn.execute(_lost_reasons(site, ev)).all()
    rows = []
    for stage in stages:
        count, time = counted.get(stage.key), timed.get(stage.key)
        entered = count.entered if count else 0
        moved = count.moved_on if count and stage.kind == "open" else None
        rows.append({
            "key": stage.key,
            "label": dict(stage.label),
            "kind": stage.kind,
            "entered": entered,
            "moved_on": moved,
            "lost": count.lost if count and stage.kind == "open" else (0 if stage.kind == "open" else None),
            "dropped": entered - (moved or 0) if stage.kind == "open" else None,
            "conversion": _ratio(moved, entered) if stage.kind == "open" else None,
            "stays": time.stays if time else 0,
            "avg_seconds": _seconds_value(time.avg_seconds) if time else None,
            "median_seconds": _seconds_value(time.median_seconds) if time else None,
        })
    entered_first = rows[[s.key for s in stages].index(first)]["entered"] if first else 0
    win_rate = _ratio(outcome.won, outcome.won + outcome.lost)
    money = []
    for row in money_rows:
        currency = row.currency or ""
        won_amount = _sum(dialect, currency, row.amount) if currency else Decimal(0)
        average = (won_amount / row.amounts).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) if row.amounts else None
        cycle_days = (Decimal(str(row.cycle_seconds)) / DAY).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) if row.cycle_seconds is not None else None
        velocity = None
        if average is not None and cycle_days and win_rate is not None:
            velocity = (Decimal(entered_first) * win_rate * average / cycle_days).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        money.append({"currency": currency, "wins": row.wins, "won_amount": won_amount, "avg_won_amount": average,
                      "avg_cycle_days": cycle_days, "velocity": velocity})
    labels = site.view.option_lists.get("pipeline.lost_reason")
    known = labels.labels if labels is not None else {}
    return {
        "pipeline_id": query.pipeline_id,
        "from": query.start,
        "to": query.end,
        "stages": rows,
        "entered": entered_first,
        "won": outcome.won,
        "lost": outcome.lost,
        "invalid": outcome.invalid,
        "converted": outcome.converted,
        "overall_conversion": _ratio(outcome.converted, entered_first),
        "win_rate": win_rate,
        "money": money,
        "lost_reasons": [
            {"code": row.code, "label": known.get(row.code) or ({"en": row.code, "zh_CN": row.code} if row.code else
                                                              {"en": "No reason given", "zh_CN": "未填写原因"}), "count": row.count}
            for row in reasons
        ],
    }
