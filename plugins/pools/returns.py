"""Return deadlines and reminders on the kernel's per-record timers, closed records, and the reconcile job.

Both timers are computed (:func:`return_times`, :func:`remind_times`) from the record's owner, pool,
activity and level, and from the hold's assignment time, so the kernel re-arms them in the write
transaction of any change to those. A fired batch is checked again in SQL and Python (the record
says what to do, the timer only when to look): records still owned, not closed and past their
deadline go back to their pool in one ``update_many`` per pool and rule, each with an ownership event
(``return``, the rule, the reason); the owners' slots are freed, their cooldowns start, they are
notified (and emailed when mail is on), and the pool's strategy may place the records anew.
A batch reads only the fields its checks need, and its pools once; whole records only for a pool
whose strategy places them.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from kernel import N_, MailError, OwnerChange, ids_in, mail_enabled, notify_many, send_mail, user_locales

from . import holdings
from .kinds import PoolKind, kind_of, kinds
from .models import HOLDINGS, HOLDS
from .rules import deadlines, effective, load_pools

if TYPE_CHECKING:
    from kernel import Actor, DueTimer, Site

log = logging.getLogger(__name__)
RETURN = "pool_return"
REMIND = "pool_remind"
#: Returns per batch (one transaction): a returned record costs a few set-based rows, so a larger
#: batch saves the per-transaction statements and commits without holding the writer long. Not
#: 10,000: over a million held records PostgreSQL's planner then reads the whole records table to
#: claim the batch and to read it (a hash join: 0.5 s where 5,000 ids by the index take 0.05 s).
BATCH = 5000
#: On SQLite (no such plan; one writer): each commit checkpoints the pages its batch wrote, a few per
#: returned record scattered over the records, holds and timers, so one commit for a night of
#: 10,000 returns instead of two takes a tenth off the pass.
SQLITE_BATCH = 10_000
REASONS = {"followup": N_("not followed up in time"), "close": N_("not closed in time")}
RULES = {"followup": "followup_days", "close": "close_days"}
TEXTS = {
    "returned": {"en": "%(count)s record(s) went back to the pool %(pool)s: %(reason)s", "zh_CN": "%(count)s 条记录已回收到 %(pool)s：%(reason)s"},
    "followup": {"en": "not followed up in time", "zh_CN": "未按时跟进"},
    "close": {"en": "not closed in time", "zh_CN": "未按时成交"},
    "remind": {"en": "%(count)s record(s) go back to the pool %(pool)s soon unless you follow up", "zh_CN": "%(count)s 条记录即将回收到 %(pool)s，请及时跟进"},
}


def _text(site: Site, key: str, locale: str | None = None, **values: Any) -> str:
    """The message ``key`` in ``locale`` (the recipient's: :func:`kernel.user_locale`), else the site's language."""
    labels = TEXTS[key]
    return labels.get(locale or site.settings.default_locale, labels["en"]) % values


def closed_ids(site: Site, conn: sa.Connection, entity: str, ids: Sequence[int]) -> set[int]:
    """Those of ``ids`` some plugin says are closed (``pools_closed_ids``)."""
    if not ids:
        return set()
    found: set[int] = set()
    for answer in site.view.pm.hook.pools_closed_ids(site=site, conn=conn, entity=entity, ids=list(ids)):
        found.update(answer or ())
    return found


def _deadlines(
    site: Site, conn: sa.Connection, kind: PoolKind, records: Sequence[dict[str, Any]], holds: dict[int, dict[str, Any]] | None = None,
    pools: dict[int, dict[str, Any]] | None = None,
) -> list[dict[str, datetime]]:
    """Each record's deadlines (``followup``, ``close``, ``remind``; none when unowned, outside a pool or closed);
    ``holds``: the records' hold rows by record id, ``pools``: their pools by id, when already read."""
    owner = kind.owner(site.view.entities[kind.entity])
    held = [r for r in records if r.get(owner) is not None and r.get(kind.pool_field) is not None]
    if pools is None:
        pools = load_pools(site, conn, kind, {r[kind.pool_field] for r in held})
    if holds is None:
        holds = holdings.holds_of(conn, kind.entity, [r["id"] for r in held])
    now = site.clock.now()
    rules: dict[tuple[int, Any], Any] = {}  # a pool's rules per level, worked out once
    found = []
    for record in records:
        pool = pools.get(record.get(kind.pool_field))
        hold = holds.get(record["id"])
        if not holdings.live(hold, record.get(kind.pool_field), record.get(owner)):
            hold = None  # left behind by a return, or not yet written: the deadlines count from now
        if record.get(owner) is None or pool is None or (hold is not None and not hold["counted"]):
            found.append({})
            continue
        assigned = hold["assigned_at"] if hold is not None else now
        activity = record.get(kind.activity_field) if kind.activity_field else None
        level = record.get(kind.level_field) if kind.level_field else None
        if (pool["id"], level) not in rules:
            rules[(pool["id"], level)] = effective(pool, level)
        found.append(deadlines(rules[(pool["id"], level)], assigned, activity))
    return found


def return_times(
    site: Site, conn: sa.Connection, entity: str, records: list[dict[str, Any]], pools: dict[int, dict[str, Any]] | None = None,
    holds: dict[int, dict[str, Any]] | None = None,
) -> list[datetime | None]:
    """``pools``, ``holds``: as for :func:`_deadlines`, when the caller has them."""
    kind = kind_of(site, entity)
    if kind is None:
        return [None] * len(records)
    return [min((v for k, v in d.items() if k != "remind"), default=None) for d in _deadlines(site, conn, kind, records, holds, pools)]


def remind_times(
    site: Site, conn: sa.Connection, entity: str, records: list[dict[str, Any]], pools: dict[int, dict[str, Any]] | None = None,
    holds: dict[int, dict[str, Any]] | None = None,
) -> list[datetime | None]:
    """``pools``, ``holds``: as for :func:`_deadlines`, when the caller has them."""
    kind = kind_of(site, entity)
    if kind is None:
        return [None] * len(records)
    return [d.get("remind") for d in _deadlines(site, conn, kind, records, holds, pools)]


def deadlines_of(site: Site, conn: sa.Connection, entity: str, ids: Sequence[int]) -> dict[int, dict[str, datetime]]:
    """When held records ``ids`` go back (``followup``, ``close``) and are reminded (``remind``), by id: for "days left"."""
    kind = kind_of(site, entity)
    if kind is None or not ids:
        return {}
    table = site.view.entities[entity].table
    records = [dict(r._mapping) for r in conn.execute(sa.select(table).where(ids_in(table.c.id, ids, conn.dialect.name)))]
    return {r["id"]: d for r, d in zip(records, _deadlines(site, conn, kind, records)) if d}


def _checked_columns(site: Site, kind: PoolKind) -> list[str]:
    """The fields a due record's checks read (id, owner, pool, activity, level): the rest stays in the database."""
    table = site.view.entities[kind.entity].table
    wanted = ("id", kind.owner(site.view.entities[kind.entity]), kind.pool_field, kind.activity_field, kind.level_field)
    return [name for name in dict.fromkeys(wanted) if name is not None and name in table.c]


def _due_records(site: Site, conn: sa.Connection, kind: PoolKind, timers: list[DueTimer]) -> tuple[list[dict[str, Any]], dict[int, dict[str, Any]]]:
    """The held records the timers name, in id order, with only the fields their checks read
    (:func:`_checked_columns`), and their hold rows by record id (one query)."""
    table = site.view.entities[kind.entity].table
    owner = kind.owner(site.view.entities[kind.entity])
    ids = sorted({t.record_id for t in timers})
    names = _checked_columns(site, kind)
    hold = [HOLDS.c[name].label(f"hold_{name}") for name in ("user_id", "pool_id", "assigned_at", "counted")]
    held = sa.and_(HOLDS.c.entity == kind.entity, HOLDS.c.record_id == table.c.id)
    if conn.dialect.name == "postgresql":  # the ids as rows, each one record's look-up by its key (see _id_rows)
        wanted = _id_rows(ids)
        source, where = wanted.join(table, table.c.id == wanted.c.id).outerjoin(HOLDS, held), []
    else:
        source, where = table.outerjoin(HOLDS, held), [ids_in(table.c.id, ids, conn.dialect.name)]
    query = (
        sa.select(*(table.c[name] for name in names), *hold)
        .select_from(source)
        .where(*where, table.c[owner].is_not(None), table.c[kind.pool_field].is_not(None))
        .order_by(table.c.id)
    )
    width = len(names)
    records, holds = [], {}
    for row in conn.execute(query).all():
        records.append(dict(zip(names, row)))
        user_id, pool_id, assigned_at, counted = row[width:]
        if user_id is not None:
            holds[row[0]] = {"user_id": user_id, "pool_id": pool_id, "assigned_at": assigned_at, "counted": counted}
    return records, holds


def _id_rows(ids: Sequence[int]) -> sa.TableValuedAlias:
    """``unnest('{1,2,3}'::bigint[]) AS ids(id)``: a batch's ids as rows to join the records to (PostgreSQL).

    Read with ``id = ANY(…)`` and the hold joined, 5,000 ids over a million records got a parallel bitmap
    scan, sorted in each worker (40–60 ms, slower when the workers wait for a core), or without workers a
    hash join reading every hold (300 ms); from the ids' rows (whose count the planner knows) the plan is
    one look-up of the record and of its hold per id, 40 ms every time."""
    text = "{" + ",".join(str(int(i)) for i in ids) + "}"
    return sa.func.unnest(sa.cast(sa.bindparam(None, text, type_=sa.String), postgresql.ARRAY(sa.BigInteger))).table_valued("id").render_derived(name="ids")


def return_due(site: Site, conn: sa.Connection, actor: Actor, entity: str, timers: list[DueTimer]) -> None:
    """The return timer's handler: overdue records back to their pools (see the module)."""
    kind = kind_of(site, entity)
    if kind is None:
        return
    records, holds = _due_records(site, conn, kind, timers)
    closed = closed_ids(site, conn, entity, [r["id"] for r in records])
    if closed:
        mark_closed(site, conn, entity, sorted(closed))
    records = [r for r in records if r["id"] not in closed]
    now = site.clock.now()
    pools = load_pools(site, conn, kind, {r[kind.pool_field] for r in records})  # once: the checks and the returns share them
    groups: dict[tuple[int, str], list[dict[str, Any]]] = defaultdict(list)
    for record, found in zip(records, _deadlines(site, conn, kind, records, holds, pools)):
        overdue = sorted((at, rule) for rule, at in found.items() if rule != "remind" and at <= now)
        if overdue:
            groups[(record[kind.pool_field], overdue[0][1])].append(record)
    if groups:
        return_records(site, conn, kind, actor, groups, pools, holds)


def return_records(
    site: Site, conn: sa.Connection, kind: PoolKind, actor: Actor, groups: dict[tuple[int, str], list[dict[str, Any]]],
    pools: dict[int, dict[str, Any]] | None = None, holds: dict[int, dict[str, Any]] | None = None,
) -> list[int]:
    """Send each group of held records (by pool and rule: ``followup``/``close``) back to its pool; the ids returned.

    The records carry the fields the checks read (:func:`_due_records`); a pool whose strategy places
    returned records anew gets them whole, read before they change. ``pools``: the pools by id, ``holds``:
    the records' holds by record id (:func:`_due_records`), when already read. The ``pools_after_change``
    list is built only when some plugin implements the hook."""
    from .operations import _let_go, operating
    from .strategies import place, places

    owner = kind.owner(site.view.entities[kind.entity])
    if pools is None:
        pools = load_pools(site, conn, kind, {pool_id for pool_id, _ in groups})
    table = site.view.entities[kind.entity].table
    after_change = site.view.pm.hook.pools_after_change
    returned: list[int] = []
    for (pool_id, rule), records in sorted(groups.items()):
        pool = pools[pool_id]
        ids = [r["id"] for r in records]
        placing = places(site, pool)
        if placing:
            stored = conn.execute(sa.select(table).where(ids_in(table.c.id, ids, conn.dialect.name)).order_by(table.c.id))
            records = [dict(row._mapping) for row in stored]
        _let_go(site, conn, kind, pool, records, holds)
        change = OwnerChange("return", reason=REASONS[rule], via_entity=kind.pool_entity, via_id=pool_id, rule=RULES[rule])
        with operating():
            site.records.update_many(actor, kind.entity, ids=ids, changes={owner: None}, owner_change=change, conn=conn)
        if after_change.get_hookimpls():
            after_change(site=site, conn=conn, entity=kind.entity, action="return", changes=[
                {"record_id": r["id"], "pool_id": pool_id, "from_owner": r[owner], "to_owner": None, "reason": REASONS[rule], "rule": RULES[rule]}
                for r in records
            ])
        _tell_owners(site, conn, kind, pool, records, owner, rule)
        if placing:
            place(site, conn, kind, pool, [{**r, owner: None} for r in records], exclude={r["id"]: r[owner] for r in records}, rule="returned")
        returned.extend(ids)
    return returned


def _tell_owners(site: Site, conn: sa.Connection, kind: PoolKind, pool: dict[str, Any], records: list[dict[str, Any]], owner: str, rule: str) -> None:
    by_owner: dict[int, int] = defaultdict(int)
    for record in records:
        by_owner[record[owner]] += 1
    emailing = mail_enabled(site)
    users = site.view.entities["users"].table
    emails = dict(conn.execute(sa.select(users.c.id, users.c.email).where(users.c.id.in_(sorted(by_owner)))).all()) if emailing else {}
    locales = user_locales(site, by_owner, conn)
    link = f"/r/{kind.pool_entity}/{pool['id']}"
    titles = {}
    for user_id, count in sorted(by_owner.items()):
        locale = locales[user_id]
        titles[user_id] = _text(site, "returned", locale, count=count, pool=pool["name"], reason=_text(site, rule, locale))
    notify_many(site, conn, [{"user_id": user_id, "title": title, "link": link} for user_id, title in titles.items()])
    for user_id, title in titles.items():
        if emailing and emails.get(user_id):
            try:
                send_mail(site, emails[user_id], title, title)
            except MailError:
                log.warning("pools: could not email %s about returned records", emails[user_id])


def remind_due(site: Site, conn: sa.Connection, actor: Actor, entity: str, timers: list[DueTimer]) -> None:
    """The reminder timer's handler: each owner of records about to go back gets one notification per pool."""
    kind = kind_of(site, entity)
    if kind is None:
        return
    records, holds = _due_records(site, conn, kind, timers)
    owner = kind.owner(site.view.entities[entity])
    now = site.clock.now()
    pools = load_pools(site, conn, kind, {r[kind.pool_field] for r in records})
    due = [r for r, d in zip(records, _deadlines(site, conn, kind, records, holds, pools)) if d.get("remind") is not None and d["remind"] <= now]
    if not due:
        return
    counts: dict[tuple[int, int], int] = defaultdict(int)
    for record in due:
        counts[(record[owner], record[kind.pool_field])] += 1
    emailing = mail_enabled(site)
    users = site.view.entities["users"].table
    emails = dict(conn.execute(sa.select(users.c.id, users.c.email).where(users.c.id.in_(sorted({u for u, _ in counts})))).all()) if emailing else {}
    locales = user_locales(site, (u for u, _ in counts), conn)
    titles = {key: _text(site, "remind", locales[key[0]], count=count, pool=pools[key[1]]["name"]) for key, count in sorted(counts.items())}
    notify_many(site, conn, [{"user_id": user_id, "title": title, "link": f"/r/{kind.pool_entity}/{pool_id}"} for (user_id, pool_id), title in titles.items()])
    for (user_id, _pool_id), title in titles.items():
        if emailing and emails.get(user_id):
            try:
                send_mail(site, emails[user_id], title, title)
            except MailError:
                log.warning("pools: could not email %s a reminder", emails[user_id])
    reminded = ids_in(HOLDS.c.record_id, [r["id"] for r in due], conn.dialect.name)
    conn.execute(sa.update(HOLDS).where(HOLDS.c.entity == entity, reminded).values(reminded_at=now))


def mark_closed(site: Site, conn: sa.Connection, entity: str, ids: Sequence[int]) -> int:
    """Records ``ids`` got closed (converted, won): they stop counting against their owners' limits and are
    never returned. Idempotent; a client calls it in the transaction that closes them. Returns how many changed."""
    if not ids:
        return 0
    kind = kind_of(site, entity)
    if kind is None:
        return 0
    rows = conn.execute(
        sa.update(HOLDS).where(HOLDS.c.entity == entity, ids_in(HOLDS.c.record_id, ids, conn.dialect.name), HOLDS.c.counted.is_(True), _live(site, kind))
        .values(counted=False).returning(HOLDS.c.pool_id, HOLDS.c.user_id)
    ).all()
    holdings.give_back(conn, entity, [(r.pool_id, r.user_id) for r in rows])
    from kernel import rearm_timers

    rearm_timers(site, conn, entity, list(ids))
    return len(rows)


def _live(site: Site, kind: PoolKind) -> sa.ColumnElement[bool]:
    """A hold row is live: its record is in the hold's pool and owned by its user (:class:`~.models.Hold`)."""
    table = site.view.entities[kind.entity].table
    owner = table.c[kind.owner(site.view.entities[kind.entity])]
    return sa.exists().where(table.c.id == HOLDS.c.record_id, owner == HOLDS.c.user_id, table.c[kind.pool_field] == HOLDS.c.pool_id)


def reconcile(site: Site, now: datetime | None = None) -> dict[str, Any]:
    """Rebuild holds and holdings from the records, set-based, and report the drift found (the job ``pools.reconcile``).

    ``{"items": {"holds_added": 0, "holds_removed": 1, "drift": [{"pool_id", "user_id", "held", "expected"}]}}``.
    The holds returns leave behind (their records unowned: :class:`~.models.Hold`) are not drift: they stay.
    """
    report: dict[str, Any] = {}
    for entity, kind in kinds(site).items():
        with site.write() as conn:
            report[entity] = _reconcile_kind(site, conn, kind)
    return report


def _reconcile_kind(site: Site, conn: sa.Connection, kind: PoolKind) -> dict[str, Any]:
    table = site.view.entities[kind.entity].table
    owner = table.c[kind.owner(site.view.entities[kind.entity])]
    pool = table.c[kind.pool_field]
    entity = kind.entity
    left_by_return = sa.exists().where(table.c.id == HOLDS.c.record_id, owner.is_(None))
    stray = sa.delete(HOLDS).where(HOLDS.c.entity == entity, ~_live(site, kind), ~left_by_return)
    removed = len(conn.execute(stray.returning(HOLDS.c.record_id)).all())
    held = sa.select(HOLDS.c.record_id).where(HOLDS.c.entity == entity, HOLDS.c.record_id == table.c.id)
    source = sa.select(
        sa.literal(entity).label("entity"), table.c.id, pool, owner, sa.literal(site.clock.now(), HOLDS.c.assigned_at.type), sa.true()
    ).where(owner.is_not(None), pool.is_not(None), ~held.exists())
    added = len(conn.execute(
        sa.insert(HOLDS).from_select(["entity", "record_id", "pool_id", "user_id", "assigned_at", "counted"], source).returning(HOLDS.c.record_id)
    ).all())
    expected = (
        sa.select(HOLDS.c.pool_id, HOLDS.c.user_id, sa.func.count().label("n"))
        .where(HOLDS.c.entity == entity, HOLDS.c.counted.is_(True), _live(site, kind))
        .group_by(HOLDS.c.pool_id, HOLDS.c.user_id)
        .subquery()
    )
    drift = [dict(r._mapping) for r in conn.execute(
        sa.select(HOLDINGS.c.pool_id, HOLDINGS.c.user_id, HOLDINGS.c.held, sa.func.coalesce(expected.c.n, 0).label("expected"))
        .select_from(HOLDINGS.outerjoin(expected, sa.and_(expected.c.pool_id == HOLDINGS.c.pool_id, expected.c.user_id == HOLDINGS.c.user_id)))
        .where(HOLDINGS.c.entity == entity, HOLDINGS.c.held != sa.func.coalesce(expected.c.n, 0))
    )]
    missing = [dict(r._mapping) for r in conn.execute(
        sa.select(expected.c.pool_id, expected.c.user_id, expected.c.n.label("expected")).select_from(
            expected.outerjoin(HOLDINGS, sa.and_(HOLDINGS.c.entity == entity, HOLDINGS.c.pool_id == expected.c.pool_id,
                                                 HOLDINGS.c.user_id == expected.c.user_id))
        ).where(HOLDINGS.c.id.is_(None))
    )]
    for row in drift:
        conn.execute(sa.update(HOLDINGS).where(HOLDINGS.c.entity == entity, HOLDINGS.c.pool_id == row["pool_id"],
                                               HOLDINGS.c.user_id == row["user_id"]).values(held=row["expected"]))
    if missing:
        conn.execute(sa.insert(HOLDINGS), [{"entity": entity, "pool_id": r["pool_id"], "user_id": r["user_id"], "held": r["expected"]} for r in missing])
    drift.extend({**r, "held": 0} for r in missing)
    if drift or added or removed:
        log.warning("pools.reconcile %s: %d holds added, %d removed, %d counters off", entity, added, removed, len(drift))
    return {"holds_added": added, "holds_removed": removed, "drift": drift}


def reconcile_job(site: Site, now: datetime) -> dict[str, Any]:
    return reconcile(site, now)
