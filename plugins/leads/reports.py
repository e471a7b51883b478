"""Lead reports, each a few SQL statements under the reader's record rules (``site.records.visible``):

* ``funnel``: per status, the leads in it now and the leads that ever reached it — or a later step of
  new → assigned → contacting → qualified → converted — from the kernel's state events (so a lead
  contacted, then found invalid, still counts as contacted); ``invalid`` counts the invalid ones;
* ``conversion``: per ``source``, ``pool`` or ``owner``: leads, converted, invalid, conversion rate;
* ``recycled``: leads sent back to their lead pool, from the kernel's ownership events, per reason:
  returned by the deadline job (the pools' return rule: ``followup_days``, ``close_days``) or
  released by their owner (the release reason);
* ``first_followup``: per ``source``, ``pool`` or ``owner``: of the leads created, how many were
  followed up, and the average and longest hours from creation to the first follow-up (the first
  audit entry that moved ``last_followed_at``, which survives the follow-ups moving to a customer
  on conversion).

Periods: leads created in ``[start, end)`` (``recycled``: events in it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from kernel import UTCDateTime, state_events_table

if TYPE_CHECKING:
    from kernel import Actor, Site

LEAD = "leads"
POOLS = "lead_pools"
MAIN_PATH = ("new", "assigned", "contacting", "qualified", "converted")
STATUS_ORDER = (*MAIN_PATH, "invalid")
STATUS_LABELS = {
    "new": {"en": "New", "zh_CN": "新线索"},
    "assigned": {"en": "Assigned", "zh_CN": "已分配"},
    "contacting": {"en": "Contacting", "zh_CN": "跟进中"},
    "qualified": {"en": "Qualified", "zh_CN": "已确认"},
    "converted": {"en": "Converted", "zh_CN": "已转化"},
    "invalid": {"en": "Invalid", "zh_CN": "无效"},
}
EVENTS = sa.table(
    "kernel_ownership_events",
    sa.column("id", sa.BigInteger), sa.column("entity", sa.String), sa.column("record_id", sa.BigInteger),
    sa.column("from_owner", sa.BigInteger), sa.column("to_owner", sa.BigInteger), sa.column("reason", sa.String),
    sa.column("at", UTCDateTime()), sa.column("action", sa.String), sa.column("via_entity", sa.String),
    sa.column("via_id", sa.BigInteger), sa.column("rule", sa.String),
)
AUDIT = sa.table(
    "kernel_audit",
    sa.column("id", sa.BigInteger), sa.column("entity", sa.String), sa.column("record_id", sa.BigInteger),
    sa.column("action", sa.String), sa.column("at", UTCDateTime()), sa.column("changes", sa.JSON),
)
DIMENSIONS = {
    "source": {"en": "Source", "zh_CN": "来源"},
    "pool": {"en": "Lead pool", "zh_CN": "线索池"},
    "owner": {"en": "Owner", "zh_CN": "负责人"},
}
REASONS = {
    "followup_days": {"en": "Not followed up in time", "zh_CN": "未按时跟进"},
    "close_days": {"en": "Not converted in time", "zh_CN": "未按时转化"},
}
HOW = {"return": {"en": "Recycled at the deadline", "zh_CN": "到期自动回收"}, "release": {"en": "Released by the owner", "zh_CN": "负责人释放"}}
NONE_LABEL = {"en": "(none)", "zh_CN": "（无）"}
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
    grouped: bool  # takes ``by``
    first: dict[str, str]  # the first column's header when not grouped


def L(en: str, zh: str) -> dict[str, str]:  # noqa: N802 - a label in both languages
    return {"en": en, "zh_CN": zh}


REPORTS: dict[str, Report] = {
    r.name: r
    for r in (
        Report("funnel", L("Lead funnel", "线索漏斗"),
               L("Leads by status: in each status now, and how many ever reached it or a later step.",
                 "按状态统计线索：当前处于各状态的数量，以及曾到达该阶段或之后阶段的数量。"),
               (Column("now", L("Now in this status", "当前数量")), Column("reached", L("Reached", "曾到达")),
                Column("share", L("Of all leads", "占全部线索"), "percent")), False, L("Status", "状态")),
        Report("conversion", L("Conversion rate", "转化率"),
               L("Leads created in the period, how many were converted and how many found invalid.",
                 "期间新建的线索中，已转化和无效的数量。"),
               (Column("leads", L("Leads", "线索数")), Column("converted", L("Converted", "已转化")),
                Column("invalid", L("Invalid", "无效")), Column("rate", L("Conversion", "转化率"), "percent")), True, {}),
        Report("recycled", L("Recycled leads", "线索回收"),
               L("Leads that went back to their lead pool: recycled at a deadline or released by their owner, and why.",
                 "回到线索池的线索：到期自动回收或负责人释放，以及原因。"),
               (Column("how", L("How", "方式"), "text"), Column("times", L("Times", "次数")), Column("leads", L("Leads", "线索数"))),
               False, L("Reason", "原因")),
        Report("first_followup", L("Time to first follow-up", "首次跟进用时"),
               L("Leads created in the period: how many were followed up, and the hours from creation to the first follow-up.",
                 "期间新建的线索：已跟进的数量，以及从创建到首次跟进的小时数。"),
               (Column("leads", L("Leads", "线索数")), Column("followed", L("Followed up", "已跟进")),
                Column("avg_hours", L("Average hours", "平均小时数"), "hours"), Column("max_hours", L("Longest, hours", "最长小时数"), "hours")),
               True, {}),
    )
}


@dataclass(frozen=True)
class Query:
    """A report's parameters: the grouping (for the grouped ones) and the period ``[start, end)``."""

    by: str = "source"
    start: datetime | None = None
    end: datetime | None = None


def run(site: Site, actor: Actor, name: str, query: Query) -> list[dict[str, Any]]:
    """The rows of report ``name``: each ``{"key", "label": {"en", "zh_CN"}, ...its columns}``."""
    entity = site.view.entity(LEAD)
    if entity is None or name not in REPORTS:
        return []
    builder = {"funnel": _funnel, "conversion": _conversion, "recycled": _recycled, "first_followup": _first_followup}[name]
    with site.engine.connect() as conn:
        return builder(site, conn, actor, entity.table, query)


def _created_in(table: sa.Table, query: Query) -> list[Any]:
    where = []
    if query.start is not None:
        where.append(table.c.created_at >= query.start)
    if query.end is not None:
        where.append(table.c.created_at < query.end)
    return where


def _funnel(site: Site, conn: sa.Connection, actor: Actor, table: sa.Table, query: Query) -> list[dict[str, Any]]:
    where = [site.records.visible(actor, LEAD), *_created_in(table, query)]
    now = dict(conn.execute(sa.select(table.c.status, sa.func.count()).where(*where).group_by(table.c.status)).all())
    events = state_events_table()
    reached_cols = [
        sa.func.count(sa.distinct(events.c.record_id)).filter(events.c.to_state.in_(MAIN_PATH[i:])).label(f"r{i}")
        for i in range(len(MAIN_PATH))
    ]
    leads = sa.select(table.c.id).where(*where)
    reached = conn.execute(
        sa.select(*reached_cols).where(events.c.entity == LEAD, events.c.record_id.in_(leads))
    ).one()._mapping
    total = sum(now.values())
    rows = []
    for i, status in enumerate(STATUS_ORDER):
        count = now.get(status, 0)
        # a lead stored before state events existed has none: it reached at least where it is now
        ever = max(reached[f"r{i}"], sum(now.get(s, 0) for s in MAIN_PATH[i:])) if status in MAIN_PATH else count
        if status == "new":
            ever = total
        rows.append({"key": status, "label": STATUS_LABELS[status], "now": count, "reached": ever,
                     "share": round(ever / total, 4) if total else None})
    return rows


def _dimension(table: sa.Table, by: str) -> Any:
    return {"source": table.c.source, "pool": table.c.pool_id, "owner": table.c.owner_id}[by]


def _conversion(site: Site, conn: sa.Connection, actor: Actor, table: sa.Table, query: Query) -> list[dict[str, Any]]:
    key = _dimension(table, query.by)
    statement = (
        sa.select(key.label("key"), sa.func.count().label("leads"),
                  sa.func.count().filter(table.c.status == "converted").label("converted"),
                  sa.func.count().filter(table.c.status == "invalid").label("invalid"))
        .where(site.records.visible(actor, LEAD), *_created_in(table, query))
        .group_by(key).order_by(sa.desc("leads"), key).limit(MAX_ROWS)
    )
    rows = [dict(row._mapping) for row in conn.execute(statement)]
    for row in rows:
        row["rate"] = round(row["converted"] / row["leads"], 4) if row["leads"] else None
    return _labelled(site, conn, query.by, rows)


def _seconds(site: Site, later: Any, earlier: Any) -> Any:
    if site.engine.dialect.name == "postgresql":
        return sa.func.extract("epoch", later - earlier)
    return (sa.func.julianday(later) - sa.func.julianday(earlier)) * 86400.0


def _moved_followed_at(site: Site) -> Any:
    if site.engine.dialect.name == "postgresql":
        return sa.func.jsonb_exists(sa.cast(AUDIT.c.changes, JSONB), "last_followed_at")
    return sa.func.json_extract(AUDIT.c.changes, '$."last_followed_at"').is_not(None)


def _first_followup(site: Site, conn: sa.Connection, actor: Actor, table: sa.Table, query: Query) -> list[dict[str, Any]]:
    first = (
        sa.select(sa.func.min(AUDIT.c.at))
        .where(AUDIT.c.entity == LEAD, AUDIT.c.record_id == table.c.id, AUDIT.c.action == "update", _moved_followed_at(site))
        .scalar_subquery()
    )
    key = _dimension(table, query.by)
    created = (
        sa.select(key.label("key"), table.c.created_at, first.label("first_at"))
        .where(site.records.visible(actor, LEAD), *_created_in(table, query))
        .subquery("created")
    )
    hours = _seconds(site, created.c.first_at, created.c.created_at) / 3600.0
    statement = (
        sa.select(created.c.key, sa.func.count().label("leads"), sa.func.count(created.c.first_at).label("followed"),
                  sa.func.avg(hours).label("avg_hours"), sa.func.max(hours).label("max_hours"))
        .group_by(created.c.key).order_by(sa.desc("leads"), created.c.key).limit(MAX_ROWS)
    )
    rows = [dict(row._mapping) for row in conn.execute(statement)]
    for row in rows:
        for name in ("avg_hours", "max_hours"):
            if row[name] is not None:
                row[name] = round(float(row[name]), 1)
    return _labelled(site, conn, query.by, rows)


def _recycled(site: Site, conn: sa.Connection, actor: Actor, table: sa.Table, query: Query) -> list[dict[str, Any]]:
    reason = sa.case((EVENTS.c.action == "return", sa.func.coalesce(EVENTS.c.rule, EVENTS.c.reason, "")),
                     else_=sa.func.coalesce(EVENTS.c.reason, ""))
    where = [
        EVENTS.c.entity == LEAD, EVENTS.c.via_entity == POOLS, EVENTS.c.action.in_(("return", "release")),
        EVENTS.c.record_id.in_(sa.select(table.c.id).where(site.records.visible(actor, LEAD))),
    ]
    if query.start is not None:
        where.append(EVENTS.c.at >= query.start)
    if query.end is not None:
        where.append(EVENTS.c.at < query.end)
    statement = (
        sa.select(reason.label("key"), EVENTS.c.action.label("how"), sa.func.count().label("times"),
                  sa.func.count(sa.distinct(EVENTS.c.record_id)).label("leads"))
        .where(*where).group_by(reason, EVENTS.c.action).order_by(sa.desc("times"), reason).limit(MAX_ROWS)
    )
    rows = [dict(row._mapping) for row in conn.execute(statement)]
    release_labels = _option_labels(site, "pools.release_reasons")
    for row in rows:
        row["label"] = REASONS.get(row["key"]) or release_labels.get(row["key"]) or (
            {"en": row["key"], "zh_CN": row["key"]} if row["key"] else NONE_LABEL)
        row["how_label"] = HOW.get(row["how"], {"en": row["how"], "zh_CN": row["how"]})
    return rows


def _option_labels(site: Site, list_name: str) -> dict[str, dict[str, str]]:
    listed = site.view.option_lists.get(list_name)
    if listed is None:
        return {}
    return {option.code: dict(option.label) for option in listed.options}


def _labelled(site: Site, conn: sa.Connection, by: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each row's ``label`` in both languages: the source's option label, the pool's or the owner's name."""
    keys = [row["key"] for row in rows if row["key"] is not None]
    names: dict[Any, dict[str, str]] = {}
    if by == "source":
        names = _option_labels(site, "leads.source")
    elif keys:
        entity = site.view.entity("users" if by == "owner" else POOLS)
        other = entity.table
        label = sa.func.coalesce(other.c.name, other.c.email) if by == "owner" else other.c.name
        names = {row[0]: {"en": str(row[1]), "zh_CN": str(row[1])} for row in conn.execute(sa.select(other.c.id, label).where(other.c.id.in_(keys)))}
    for row in rows:
        key = row["key"]
        row["label"] = names.get(key) or (NONE_LABEL if key is None else {"en": f"#{key}" if by != "source" else str(key),
                                                                           "zh_CN": f"#{key}" if by != "source" else str(key)})
    return rows


def funnel_chart(site: Site, actor: Actor, now: datetime, period: Any = None, locale: str | None = None) -> dict[str, Any]:
    """The dashboard widget ``leads.funnel``: leads that reached each step, as a funnel chart."""
    query = Query(start=getattr(period, "start", None), end=getattr(period, "end", None))
    rows = run(site, actor, "funnel", query)
    shown = [row for row in rows if row["key"] in MAIN_PATH]
    lang = locale or "en"
    return {
        "type": "funnel",
        "labels": [row["label"].get(lang) or row["label"]["en"] for row in shown],
        "series": [{"name": {"en": "Leads", "zh_CN": "线索数"}, "values": [row["reached"] for row in shown]}],
    }
