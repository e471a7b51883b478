"""Pool reports: claims, returns by reason, time to first follow-up and conversion of claimed records,
per member, team or pool — each one SQL statement over the ownership events, under the reader's record rules.

Every ownership change through a pool leaves a row in the kernel's ownership events
(``action`` ``claim``/``assign``/``release``/``transfer``/``return``, ``via_entity``/``via_id`` the
pool, ``rule`` what decided it). A report reads the events of one pool kind (the pooled entity) in
a period, keeps those about records the reader may see (``site.records.visible``), and groups them by:

* ``member``: who got the record (claims, conversion, follow-up) or who lost it (returns);
* ``team``: that member's team;
* ``pool``: the pool it went through.

Reports:

* ``claims``: records claimed by members (pull) and assigned from the pool by admins (push);
* ``returns``: records that went back to the pool, by who sent them (``return``: the deadline job,
  ``release``: the owner) and why (the job's rule, ``followup_days`` or ``close_days``; the release reason's code);
* ``first_followup``: for each claim or assignment, the first activity after it (a change of the
  kind's activity field, such as ``last_followed_at``, found in the audit log): how many got one and
  the average and longest hours until it;
* ``conversion``: of the records claimed or assigned in the period, how many are closed now
  (converted, won: the ``pools_closed_ids`` hook's answer, which stops a hold from counting).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from kernel import UTCDateTime

from .kinds import PoolKind, kinds
from .models import HOLDS
from .options import RELEASE_REASONS

if TYPE_CHECKING:
    from kernel import Actor, Site

#: The kernel's ownership events and audit log, read-only, as far as the reports read them.
EVENTS = sa.table(
    "kernel_ownership_events",
    sa.column("id", sa.BigInteger), sa.column("entity", sa.String), sa.column("record_id", sa.BigInteger),
    sa.column("from_owner", sa.BigInteger), sa.column("to_owner", sa.BigInteger), sa.column("actor_id", sa.BigInteger),
    sa.column("reason", sa.String), sa.column("at", UTCDateTime()), sa.column("action", sa.String),
    sa.column("via_entity", sa.String), sa.column("via_id", sa.BigInteger), sa.column("rule", sa.String),
)
AUDIT = sa.table(
    "kernel_audit",
    sa.column("id", sa.BigInteger), sa.column("entity", sa.String), sa.column("record_id", sa.BigInteger),
    sa.column("action", sa.String), sa.column("at", UTCDateTime()), sa.column("actor_id", sa.BigInteger),
    sa.column("changes", sa.JSON),
)

DIMENSIONS = {
    "member": {"en": "Member", "zh_CN": "成员"},
    "team": {"en": "Team", "zh_CN": "团队"},
    "pool": {"en": "Pool", "zh_CN": "池"},
}
TAKEN = ("claim", "assign")  # a record given to a member through a pool
RETURNED = ("return", "release")
MAX_ROWS = 1000


@dataclass(frozen=True)
class Column:
    key: str
    label: dict[str, str]
    kind: str = "int"  # int, text, hours, percent


@dataclass(frozen=True)
class Report:
    name: str
    label: dict[str, str]
    description: dict[str, str]
    columns: tuple[Column, ...]


REPORTS: dict[str, Report] = {
    report.name: report
    for report in (
        Report(
            "claims", {"en": "Claims", "zh_CN": "领取统计"},
            {"en": "Records members claimed from a pool, and records pool admins assigned from it.",
             "zh_CN": "成员从池中领取的记录，以及池管理员从池中分配的记录。"},
            (Column("claims", {"en": "Claimed", "zh_CN": "领取"}), Column("assigned", {"en": "Assigned by an admin", "zh_CN": "管理员分配"}),
             Column("records", {"en": "Records", "zh_CN": "记录数"})),
        ),
        Report(
            "returns", {"en": "Returns by reason", "zh_CN": "退回原因"},
            {"en": "Records that went back to their pool: returned by the deadline job, or released by their owner, and why.",
             "zh_CN": "回到池中的记录：到期自动回收或负责人主动释放，以及原因。"},
            (Column("how", {"en": "How", "zh_CN": "方式"}, "text"), Column("reason", {"en": "Reason", "zh_CN": "原因"}, "text"),
             Column("returns", {"en": "Records", "zh_CN": "记录数"})),
        ),
        Report(
            "first_followup", {"en": "Time to first follow-up", "zh_CN": "首次跟进用时"},
            {"en": "For each claim or assignment, the time until the new owner's first follow-up after it.",
             "zh_CN": "每次领取或分配后，新负责人首次跟进所用的时间。"},
            (Column("taken", {"en": "Claims and assignments", "zh_CN": "领取与分配"}), Column("followed", {"en": "Followed up", "zh_CN": "已跟进"}),
             Column("avg_hours", {"en": "Average hours", "zh_CN": "平均小时数"}, "hours"), Column("max_hours", {"en": "Longest, hours", "zh_CN": "最长小时数"}, "hours")),
        ),
        Report(
            "conversion", {"en": "Conversion of claimed records", "zh_CN": "领取记录转化率"},
            {"en": "Of the records claimed or assigned in the period, those closed since (converted, won).",
             "zh_CN": "期间被领取或分配的记录中，此后已成交（已转化、赢单）的记录。"},
            (Column("records", {"en": "Records", "zh_CN": "记录数"}), Column("closed", {"en": "Closed", "zh_CN": "已成交"}),
             Column("rate", {"en": "Conversion", "zh_CN": "转化率"}, "percent")),
        ),
    )
}
#: Why records went back, by the rule the deadline job names or a release reason's code.
REASONS = {
    "followup_days": {"en": "Not followed up in time", "zh_CN": "未按时跟进"},
    "close_days": {"en": "Not closed in time", "zh_CN": "未按时成交"},
    **{option.code: dict(option.label) for option in RELEASE_REASONS.options},
}
HOW = {"return": {"en": "Returned at the deadline", "zh_CN": "到期回收"}, "release": {"en": "Released by the owner", "zh_CN": "主动释放"}}


@dataclass(frozen=True)
class Query:
    """What a report is asked for: the pool kind (its pooled entity), the grouping and the period ``[start, end)``."""

    entity: str
    by: str = "member"
    start: datetime | None = None
    end: datetime | None = None


def run(site: Site, actor: Actor, name: str, query: Query) -> list[dict[str, Any]]:
    """The rows of report ``name``: each ``{"key", "label", ...its columns}``, largest first."""
    kind = kinds(site).get(query.entity)
    if kind is None or name not in REPORTS or query.by not in DIMENSIONS:
        return []
    table = site.view.entity(kind.entity).table
    events = EVENTS.alias("ev")
    base = [
        events.c.entity == kind.entity,
        events.c.via_entity == kind.pool_entity,
        events.c.record_id.in_(sa.select(table.c.id).where(site.records.visible(actor, kind.entity))),
    ]
    if query.start is not None:
        base.append(events.c.at >= query.start)
    if query.end is not None:
        base.append(events.c.at < query.end)
    builder = {"claims": _claims, "returns": _returns, "first_followup": _first_followup, "conversion": _conversion}[name]
    statement = builder(site, kind, events, base, query.by)
    with site.engine.connect() as conn:
        rows = [dict(row._mapping) for row in conn.execute(statement.limit(MAX_ROWS))]
        labels = _labels(site, conn, kind, query.by, {row["key"] for row in rows})
    for row in rows:
        row["label"] = labels.get(row["key"]) or ("—" if row["key"] is None else f"#{row['key']}")
        if name == "conversion":
            row["rate"] = round(row["closed"] / row["records"], 4) if row["records"] else None
        if name == "returns":
            row["how_label"] = HOW.get(row["how"], {"en": row["how"], "zh_CN": row["how"]})
            row["reason_label"] = REASONS.get(row["reason"]) or {"en": row["reason"], "zh_CN": row["reason"]}
        for key in ("avg_hours", "max_hours"):
            if row.get(key) is not None:
                row[key] = round(float(row[key]), 1)
    return rows


def _dimension(site: Site, events: Any, by: str, member: Any) -> tuple[Any, Any]:
    """The grouping key over ``events`` (and the join it needs, or ``None``)."""
    if by == "pool":
        return events.c.via_id, None
    if by == "member":
        return member, None
    users = site.view.entity("users").table
    return users.c.team_id, users


def _grouped(site: Site, events: Any, by: str, member: Any, columns: list[Any], where: list[Any], extra_keys: tuple[Any, ...] = ()) -> sa.Select[Any]:
    key, users = _dimension(site, events, by, member)
    statement = sa.select(key.label("key"), *extra_keys, *columns)
    source: Any = events
    if users is not None:
        source = events.outerjoin(users, users.c.id == member)
    return statement.select_from(source).where(*where).group_by(key, *extra_keys)


def _claims(site: Site, kind: PoolKind, events: Any, base: list[Any], by: str) -> sa.Select[Any]:
    counts = [
        sa.func.count().filter(events.c.action == "claim").label("claims"),
        sa.func.count().filter(events.c.action == "assign").label("assigned"),
        sa.func.count(sa.distinct(events.c.record_id)).label("records"),
    ]
    where = [*base, events.c.action.in_(TAKEN), events.c.to_owner.is_not(None)]
    return _grouped(site, events, by, events.c.to_owner, counts, where).order_by(sa.desc("records"), sa.text("key"))


def _returns(site: Site, kind: PoolKind, events: Any, base: list[Any], by: str) -> sa.Select[Any]:
    reason = sa.case((events.c.action == "return", sa.func.coalesce(events.c.rule, events.c.reason, "")), else_=sa.func.coalesce(events.c.reason, ""))
    where = [*base, events.c.action.in_(RETURNED)]
    extra = (events.c.action.label("how"), reason.label("reason"))
    statement = _grouped(site, events, by, events.c.from_owner, [sa.func.count().label("returns")], where, extra_keys=extra)
    return statement.order_by(sa.desc("returns"), sa.text("key"))


def _activity_seen(site: Site, kind: PoolKind) -> Any:
    """The condition on an audit entry of a pooled record that it is an activity."""
    if kind.activity_field is None:
        return sa.true()
    if site.engine.dialect.name == "postgresql":
        return sa.func.jsonb_exists(sa.cast(AUDIT.c.changes, JSONB), kind.activity_field)
    return sa.func.json_extract(AUDIT.c.changes, f'$."{kind.activity_field}"').is_not(None)


def _seconds(site: Site, later: Any, earlier: Any) -> Any:
    if site.engine.dialect.name == "postgresql":
        return sa.func.extract("epoch", later - earlier)
    return (sa.func.julianday(later) - sa.func.julianday(earlier)) * 86400.0


def _first_followup(site: Site, kind: PoolKind, events: Any, base: list[Any], by: str) -> sa.Select[Any]:
    first = (
        sa.select(sa.func.min(AUDIT.c.at))
        .where(
            AUDIT.c.entity == kind.entity, AUDIT.c.record_id == events.c.record_id, AUDIT.c.action == "update",
            AUDIT.c.at > events.c.at, _activity_seen(site, kind),
            *(() if kind.activity_field else (AUDIT.c.actor_id == events.c.to_owner,)),
        )
        .scalar_subquery()
    )
    taken = sa.select(events.c.id, events.c.at, events.c.to_owner, events.c.via_id, first.label("first_at")).where(
        *base, events.c.action.in_(TAKEN), events.c.to_owner.is_not(None)
    ).subquery("taken")
    hours = _seconds(site, taken.c.first_at, taken.c.at) / 3600.0
    counts = [
        sa.func.count().label("taken"),
        sa.func.count(taken.c.first_at).label("followed"),
        sa.func.avg(hours).label("avg_hours"),
        sa.func.max(hours).label("max_hours"),
    ]
    return _grouped(site, taken, by, taken.c.to_owner, counts, []).order_by(sa.desc("taken"), sa.text("key"))


def _conversion(site: Site, kind: PoolKind, events: Any, base: list[Any], by: str) -> sa.Select[Any]:
    closed = sa.exists().where(
        HOLDS.c.entity == kind.entity, HOLDS.c.record_id == events.c.record_id, HOLDS.c.user_id == events.c.to_owner,
        HOLDS.c.counted.is_(False),
    )
    counts = [
        sa.func.count(sa.distinct(events.c.record_id)).label("records"),
        sa.func.count(sa.distinct(sa.case((closed, events.c.record_id)))).label("closed"),
    ]
    where = [*base, events.c.action.in_(TAKEN), events.c.to_owner.is_not(None)]
    return _grouped(site, events, by, events.c.to_owner, counts, where).order_by(sa.desc("records"), sa.text("key"))


def _labels(site: Site, conn: sa.Connection, kind: PoolKind, by: str, keys: set[Any]) -> dict[Any, str]:
    """The names of the members, teams or pools of a report's rows, one query."""
    wanted = [k for k in keys if isinstance(k, int)]
    if not wanted:
        return {}
    entity = {"member": "users", "team": "teams", "pool": kind.pool_entity}[by]
    table = site.view.entity(entity).table
    label = table.c.name if "name" in table.c else table.c.id
    if entity == "users":
        label = sa.func.coalesce(table.c.name, table.c.email)
    return {row[0]: str(row[1]) for row in conn.execute(sa.select(table.c.id, label).where(table.c.id.in_(wanted)))}
