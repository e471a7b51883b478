"""update_many: update's rules for a whole batch, one audit entry and one event per record, few statements."""

from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


from kernel import Actor, Entity, Forbidden, NotFound, RecordMixin, ValidationError, Vetoed
from kernel import fielddefs
from kernel.audit import AUDIT
from kernel.outbox import events_query
from tests.example import plugin as notes_plugin
from tests.example.plugin import Note
from tests.helpers import plugin_module as plugin

NOTES = Note.__table__
EVENTS = events_query().subquery("events")
ADMIN = Actor(user_id=None, label="tester", role="admin", channel="job")


def user(site, email, role="sales_rep"):
    row = site.records.create(Actor.system("cli"), "users", {"email": email, "role": role})
    return Actor(user_id=row["id"], label=email, role=role, team_id=row["team_id"])


def rows(site, table, **where):
    with site.engine.connect() as conn:
        query = sa.select(table).where(*(table.c[k] == v for k, v in where.items())).order_by(table.c.id)
        return conn.execute(query).mappings().all()


@contextmanager
def statements(engine):
    seen = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)


@pytest.fixture
def site(make_site):
    return make_site(notes_plugin)


def test_update_many_by_ids_writes_changed_records_with_an_audit_entry_and_an_event_each(site, clock):
    ids = site.records.create_many(ADMIN, "notes", [{"title": f"n{i}", "priority": 2 if i else 4} for i in range(3)])
    clock.advance(hours=1)
    changed = site.records.update_many(ADMIN, "notes", ids=ids, changes={"priority": 4, "custom": {}})
    assert changed == ids[1:]  # the first had priority 4 already: left as it was
    notes = {r["id"]: r for r in rows(site, NOTES)}
    assert [notes[i]["priority"] for i in ids] == [4, 4, 4]
    assert notes[ids[0]]["updated_at"] < clock.now() == notes[ids[1]]["updated_at"]
    audit = rows(site, AUDIT, action="update")
    assert [(a["record_id"], a["changes"], a["channel"]) for a in audit] == [(i, {"priority": [2, 4]}, "job") for i in ids[1:]]
    events = rows(site, EVENTS, name="notes.updated")
    assert [(e["record_id"], e["changes"]) for e in events] == [(i, {"priority": [2, 4]}) for i in ids[1:]]
    assert site.records.update_many(ADMIN, "notes", ids=[], changes={"priority": 1}) == []


def test_where_touches_only_what_the_actor_may_write_and_ids_out_of_reach_are_404(site):
    rep, other = user(site, "rep@example.cn"), user(site, "other@example.cn")
    mine = site.records.create_many(rep, "notes", [{"title": "mine"}, {"title": "mine too", "status": "done"}])
    theirs = site.records.create(other, "notes", {"title": "theirs"})["id"]

    assert site.records.update_many(rep, "notes", where={"status": "open"}, changes={"priority": 1}) == [mine[0]]
    assert rows(site, NOTES, id=theirs)[0]["priority"] == 3
    with pytest.raises(NotFound) as refused:
        site.records.update_many(rep, "notes", ids=[mine[1], theirs], changes={"priority": 5})
    assert refused.value.details == [{"loc": ["ids", 1], "msg": "not found"}]
    assert rows(site, NOTES, id=mine[1])[0]["priority"] == 3  # all or nothing
    with pytest.raises(ValidationError) as bad:
        site.records.update_many(rep, "notes", where={"colour": "red"}, changes={"priority": 5})
    assert bad.value.details[0]["loc"] == ["query", "colour"]


def test_update_many_validates_and_checks_permissions_like_update(site):
    ids = site.records.create_many(ADMIN, "notes", [{"title": "a"}, {"title": "b"}])
    cases = [
        ({"priority": 9}, ["priority"]),
        ({"title": ""}, ["title"]),
        ({"colour": "red"}, ["colour"]),
        ({"owner_id": 5}, ["owner_id"]),  # the owner changes through assign only
    ]
    for changes, loc in cases:
        with pytest.raises(ValidationError) as bad:
            site.records.update_many(ADMIN, "notes", ids=ids, changes=changes)
        assert bad.value.details[0]["loc"] == loc
    with pytest.raises(ValidationError):
        site.records.update_many(ADMIN, "notes", ids=ids, where={}, changes={"priority": 1})
    with pytest.raises(ValidationError) as bad:
        site.records.update_many(ADMIN, "notes", ids=[ids[0], "x"], changes={"priority": 1})
    assert bad.value.details[0]["loc"] == ["ids", 1]
    marketer = Actor(user_id=99, label="m", role="marketer")
    with pytest.raises(Forbidden):
        site.records.update_many(marketer, "notes", ids=ids, changes={"priority": 1})
    assert {r["priority"] for r in rows(site, NOTES)} == {3}


def test_one_refused_record_refuses_the_batch(make_site):
    guard = plugin("guard", authorize=lambda entity, action, record: False if action == "update" and record and record.get("title") == "locked" else None)
    site = make_site(notes_plugin, guard)
    ids = site.records.create_many(ADMIN, "notes", [{"title": "open"}, {"title": "locked"}])
    with pytest.raises(Forbidden):
        site.records.update_many(ADMIN, "notes", ids=ids, changes={"priority": 1})
    assert {r["priority"] for r in rows(site, NOTES)} == {3}


def test_single_record_hooks_see_every_change_and_batch_hooks_see_the_batch(make_site):
    seen = {"before": [], "after": [], "batch": []}

    def before_update(entity, record, changes):
        seen["before"].append(record["id"])
        changes["body"] = f"checked {record['title']}"  # a change of its own, per record

    def after_update(entity, record, changes):
        seen["after"].append((record["id"], record["body"], changes["priority"]))

    def before_update_many(entity, records, changes):
        if any(c.get("status") == "archived" for c in changes):
            raise Vetoed.at(["status"], "not in bulk")

    def after_update_many(conn, entity, records, changes):
        seen["batch"].append(([r["id"] for r in records], [c["priority"] for c in changes]))

    single = plugin("single", before_update=before_update, after_update=after_update)
    batch = plugin("batch", before_update_many=before_update_many, after_update_many=after_update_many)
    site = make_site(notes_plugin, single, batch)
    ids = site.records.create_many(ADMIN, "notes", [{"title": "a"}, {"title": "b"}])
    site.records.update_many(ADMIN, "notes", ids=ids, changes={"priority": 1})
    assert seen["before"] == ids
    assert seen["after"] == [(ids[0], "checked a", (3, 1)), (ids[1], "checked b", (3, 1))]
    assert seen["batch"] == [(ids, [(3, 1), (3, 1)])]
    assert [r["body"] for r in rows(site, NOTES)] == ["checked a", "checked b"]  # per-record values stored
    with pytest.raises(Vetoed):
        site.records.update_many(ADMIN, "notes", ids=ids, changes={"status": "archived"})
    assert {r["status"] for r in rows(site, NOTES)} == {"open"}


def test_a_failing_after_hook_undoes_the_batch_with_its_audit_and_events(site):
    ids = site.records.create_many(ADMIN, "notes", [{"title": "calm"}, {"title": "explode on update"}])
    with pytest.raises(RuntimeError, match="on purpose"):
        site.records.update_many(ADMIN, "notes", ids=ids, changes={"priority": 1})
    assert {r["priority"] for r in rows(site, NOTES)} == {3}
    assert rows(site, AUDIT, action="update") == [] and rows(site, EVENTS, action="update") == []


def test_search_and_custom_fields_follow_a_batch(site):
    fielddefs.add_field(site, ADMIN, "notes", "region", {"type": "string"})
    fielddefs.add_field(site, ADMIN, "notes", "stage", {"type": "string"})
    ids = site.records.create_many(ADMIN, "notes", [{"title": "alpha one", "custom": {"stage": "s1"}}, {"title": "alpha two"}])
    site.records.update_many(ADMIN, "notes", ids=ids, changes={"title": "omega", "custom": {"region": "east"}})
    assert site.records.list(ADMIN, "notes", q="omega").total == 2
    assert site.records.list(ADMIN, "notes", q="alpha").total == 0
    assert [r["custom"] for r in rows(site, NOTES)] == [{"stage": "s1", "region": "east"}, {"region": "east"}]
    events = rows(site, EVENTS, name="notes.updated")
    assert events[1]["changes"] == {"title": ["alpha two", "omega"], "custom.region": [None, "east"]}
    with pytest.raises(ValidationError) as bad:
        site.records.update_many(ADMIN, "notes", ids=ids, changes={"custom": {"region": 5}})
    assert bad.value.details[0]["loc"][:2] == ["custom", "region"]


def test_ten_thousand_rows_take_a_bounded_number_of_statements(site, clock):
    def fill(count, first):
        now = clock.now()
        values = [{"id": first + i, "title": f"n{i}", "body": "", "priority": 3, "status": "open", "custom": {}, "created_at": now, "updated_at": now} for i in range(count)]
        with site.write() as conn:
            conn.execute(sa.insert(NOTES), values)
        return [v["id"] for v in values]

    site.records.create(ADMIN, "notes", {"title": "warm", "status": "done"})  # the first commit looks for the outbox table once
    counts = {}
    for count, first in ((10, 20_001), (10_000, 20_100)):
        ids = fill(count, first)
        with statements(site.engine) as seen:
            assert len(site.records.update_many(ADMIN, "notes", ids=ids, changes={"priority": 5, "title": "bulk"})) == count
        counts[count] = len(seen)
    assert counts[10_000] == counts[10] <= 20, counts
    assert len(rows(site, AUDIT, action="update")) == 10_010
    assert len(rows(site, EVENTS, name="notes.updated")) == 10_010
    fielddefs.add_field(site, ADMIN, "notes", "region", {"type": "string"})
    with site.write() as conn:  # every record a custom value of its own: the merged values differ per record
        conn.execute(sa.update(NOTES).values(custom=sa.func.json_object("n", NOTES.c.id) if conn.dialect.name == "sqlite" else sa.func.jsonb_build_object("n", NOTES.c.id)))
    with statements(site.engine) as seen:  # a where over the same rows: per-record values, still bounded
        site.records.update_many(ADMIN, "notes", where={"priority": 5}, changes={"custom": {"region": "east"}, "status": "done"})
    assert len(seen) <= 20
    assert len(rows(site, EVENTS, name="notes.updated")) == 20_020
    assert rows(site, NOTES, id=20_150)[0]["custom"] == {"n": 20_150, "region": "east"}


# -- the set-based path: an entity no plugin hooks --------------------------------------------


class TallyBase(DeclarativeBase):
    metadata = sa.MetaData()


class Tally(RecordMixin, TallyBase):
    __tablename__ = "tallies_tallies"
    label: Mapped[str] = mapped_column(sa.String(50), nullable=False)
    stage: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="new")
    score: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    owner_id: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)


class TallyFields(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: str = Field(min_length=1, max_length=50)
    stage: str = Field("new", pattern="^(new|won|lost)$")
    score: int | None = Field(None, ge=0)
    owner_id: int | None = None


TALLIES = Tally.__table__
tallies = plugin(
    "tallies",
    register_entities=lambda: [
        Entity(name="tallies", label={"en": "Tally", "zh_CN": "计数"}, label_plural={"en": "Tallies", "zh_CN": "计数"},
               model=Tally, fields=TallyFields, owner_field="owner_id")
    ],
)


@pytest.fixture
def plain(make_site):
    site = make_site(tallies)
    TallyBase.metadata.create_all(site.engine)
    return site


def fill_tallies(site, count, owner_id=None):
    """``count`` rows written with Core; their ids."""
    now = site.clock.now()
    values = [{"label": f"t{i}", "stage": "new", "score": i % 3, "owner_id": owner_id, "custom": {}, "created_at": now, "updated_at": now} for i in range(count)]
    with site.write() as conn:
        before = conn.scalar(sa.select(sa.func.coalesce(sa.func.max(TALLIES.c.id), 0)))
        conn.execute(sa.insert(TALLIES), values)
        return list(conn.scalars(sa.select(TALLIES.c.id).where(TALLIES.c.id > before).order_by(TALLIES.c.id)))


def test_set_based_path_writes_the_same_audit_and_events_in_a_few_statements(plain, clock):
    plain.records.create(ADMIN, "tallies", {"label": "warm", "stage": "lost"})  # the first commit looks for the outbox table once
    ids = fill_tallies(plain, 10_000)
    clock.advance(minutes=5)
    with statements(plain.engine) as seen:
        changed = plain.records.update_many(ADMIN, "tallies", where={"stage": "new"}, changes={"stage": "won", "score": 1})
    assert changed == ids and len(seen) <= 8, seen
    audit = rows(plain, AUDIT, action="update")
    assert len(audit) == 10_000
    assert audit[0]["changes"] == {"stage": ["new", "won"], "score": [0, 1]}  # only what changed, old and new
    assert audit[1]["changes"] == {"stage": ["new", "won"]}
    assert (audit[0]["record_id"], audit[0]["at"], audit[0]["actor"], audit[0]["channel"]) == (ids[0], clock.now(), "tester", "job")
    events = rows(plain, EVENTS, name="tallies.updated")
    assert [(e["record_id"], e["changes"]) for e in events] == [(a["record_id"], a["changes"]) for a in audit]
    stored = rows(plain, TALLIES)
    assert {(r["stage"], r["updated_at"]) for r in stored if r["id"] in ids} == {("won", clock.now())}
    assert plain.records.update_many(ADMIN, "tallies", ids=ids[:5], changes={"stage": "won"}) == []  # nothing to change


def test_set_based_path_keeps_the_rules(plain):
    rep = user(plain, "rep@example.cn")
    mine = fill_tallies(plain, 3, owner_id=rep.user_id)
    theirs = fill_tallies(plain, 2, owner_id=rep.user_id + 100)
    assert plain.records.update_many(rep, "tallies", where={"stage": "new"}, changes={"stage": "lost"}) == mine
    assert {r["stage"] for r in rows(plain, TALLIES) if r["id"] in theirs} == {"new"}
    with pytest.raises(NotFound) as refused:
        plain.records.update_many(rep, "tallies", ids=[*mine, theirs[0]], changes={"stage": "won"})
    assert refused.value.details == [{"loc": ["ids", 3], "msg": "not found"}]
    with pytest.raises(ValidationError) as bad:
        plain.records.update_many(rep, "tallies", ids=mine, changes={"score": -1})
    assert bad.value.details[0]["loc"] == ["score"]
    with pytest.raises(Forbidden):
        plain.records.update_many(Actor(user_id=99, label="m", role="marketer"), "tallies", ids=mine, changes={"stage": "won"})
    assert {r["stage"] for r in rows(plain, TALLIES) if r["id"] in mine} == {"lost"}
    with pytest.raises(RuntimeError):  # the caller's transaction fails after: no audit entry, no event
        with plain.write() as conn:
            plain.records.update_many(rep, "tallies", ids=mine, changes={"stage": "won"}, conn=conn)
            raise RuntimeError("give up")
    assert len(rows(plain, AUDIT, action="update")) == len(rows(plain, EVENTS, name="tallies.updated")) == 3


def test_a_timer_keeps_the_batch_set_based_unless_it_depends_on_a_changed_field(make_site, clock):
    from datetime import timedelta

    from kernel import Timer
    from kernel.timers import armed

    def due(record):
        return clock.now() + timedelta(days=record["score"] or 0)

    timed = plugin(
        "tally_timers", requires=["tallies"],
        register_timers=lambda: [Timer("recheck", "tallies", lambda **kw: None, due=due, depends_on=("score",))],
    )
    site = make_site(tallies, timed)
    TallyBase.metadata.create_all(site.engine)
    created = [site.records.create(ADMIN, "tallies", {"label": f"t{i}", "score": 1}) for i in range(3)]
    ids = [r["id"] for r in created]
    with statements(site.engine) as seen:  # stage: no timer reads it, so the SQL-only path
        assert site.records.update_many(ADMIN, "tallies", ids=ids, changes={"stage": "won"}) == ids
    assert any("INSERT INTO kernel_audit" in s and "SELECT" in s for s in seen), seen  # entries made in SQL, records never read
    with site.engine.connect() as conn:
        assert {i: t["recheck"] for i, t in armed(conn, "tallies", ids).items()} == {i: clock.now() + timedelta(days=1) for i in ids}
    assert site.records.update_many(ADMIN, "tallies", ids=ids[:2], changes={"score": 4}) == ids[:2]  # the timer's field: re-armed
    with site.engine.connect() as conn:
        assert {i: t["recheck"] for i, t in armed(conn, "tallies", ids).items()} == {
            ids[0]: clock.now() + timedelta(days=4), ids[1]: clock.now() + timedelta(days=4), ids[2]: clock.now() + timedelta(days=1),
        }
    assert len(rows(site, AUDIT, action="update")) == 5


def owned_tallies_site(make_site, clock, concerned):
    """Tallies with a timer on the owner and a plugin whose ``after_update_many`` says, through
    ``concerned_with``, whether a batch concerns it (``concerned[0]``); the calls it got."""
    from datetime import timedelta

    from kernel import Timer, concerned_with

    calls = []
    timed = plugin(
        "tally_owners", requires=["tallies"],
        register_timers=lambda: [Timer("chase", "tallies", lambda **kw: None, due=lambda r: clock.now() + timedelta(days=r["owner_id"] or 0) if r["owner_id"] else None,
                                       depends_on=("owner_id",))],
        after_update_many=concerned_with(lambda site, entity, fields: concerned[0] and entity == "tallies" and "owner_id" in fields)(
            lambda entity, records, changes: calls.append((entity, [r["id"] for r in records], changes))),
    )
    site = make_site(tallies, timed)
    TallyBase.metadata.create_all(site.engine)
    return site, calls


@pytest.mark.parametrize("to_owner", ["nobody", "someone"])
def test_an_owner_change_is_set_based_when_no_hook_is_concerned_and_writes_what_the_per_record_path_writes(make_site, clock, to_owner):
    from kernel import OwnerChange
    from kernel.ownership import EVENTS as OWNERSHIP
    from kernel.timers import armed

    concerned = [False]
    site, calls = owned_tallies_site(make_site, clock, concerned)
    rep, other = user(site, "rep@example.cn"), user(site, "other@example.cn")
    new_owner = None if to_owner == "nobody" else other.user_id
    job = Actor(user_id=None, label="timer tallies.chase", role="admin", channel="job")
    change = OwnerChange("return", reason="not followed up", via_entity="tallies", via_id=7, rule="followup_days")

    def batch(count):
        ids = fill_tallies(site, count, owner_id=rep.user_id)
        with site.write() as conn:
            from kernel.timers import rearm

            rearm(site, conn, "tallies", ids)
        return ids

    def seen(ids):
        """What the change left: audit entries, outbox events, ownership events and timers, per record in order."""
        audit = [(a["record_id"], a["action"], a["changes"], a["actor"], a["channel"], a["at"]) for a in rows(site, AUDIT, entity="tallies") if a["record_id"] in ids]
        events = [(e["record_id"], e["name"], e["changes"]) for e in rows(site, EVENTS) if e["name"].startswith("tallies.") and e["record_id"] in ids]
        moves = [{k: v for k, v in e.items() if k != "id"} for e in rows(site, OWNERSHIP) if e["record_id"] in ids]
        with site.engine.connect() as conn:
            timers = armed(conn, "tallies", ids)
        stored = {r["id"]: (r["owner_id"], r["updated_at"]) for r in rows(site, TALLIES) if r["id"] in ids}
        return audit, events, moves, timers, stored

    def shifted(found, ids, by):  # another batch's rows as if they were about ``ids``
        index = {i: ids[k] for k, i in enumerate(by)}
        audit, events, moves, timers, stored = found
        return (
            [(index[a[0]], *a[1:]) for a in audit], [(index[e[0]], *e[1:]) for e in events],
            [{**m, "record_id": index[m["record_id"]]} for m in moves], {index[i]: t for i, t in timers.items()},
            {index[i]: s for i, s in stored.items()},
        )

    fast, slow = batch(300), batch(300)
    clock.advance(minutes=5)
    with statements(site.engine) as sql:
        assert site.records.update_many(job, "tallies", ids=fast, changes={"owner_id": new_owner}, owner_change=change) == fast
    assert calls == [] and any("INSERT INTO kernel_ownership_events" in s and "SELECT" in s for s in sql), sql  # SQL only
    few = len(sql)
    concerned[0] = True  # the same change through the per-record path, the hook called with the batch
    assert site.records.update_many(job, "tallies", ids=slow, changes={"owner_id": new_owner}, owner_change=change) == slow
    assert calls == [("tallies", slow, [{"owner_id": (rep.user_id, new_owner)}] * 300)]

    made = seen(fast)
    assert made == shifted(seen(slow), fast, slow)
    audit, events, moves, timers, stored = made
    assert len(audit) == len(events) == len(moves) == 300
    assert audit[0][1:] == ("return", {"owner_id": [rep.user_id, new_owner]}, job.label, "job", clock.now())
    assert moves[0] == {"action": "return", "via_entity": "tallies", "via_id": 7, "rule": "followup_days", "entity": "tallies", "record_id": fast[0],
                        "from_owner": rep.user_id, "to_owner": new_owner, "actor_id": None, "actor": job.label, "reason": "not followed up", "at": clock.now()}
    assert set(stored.values()) == {(new_owner, clock.now())}
    if new_owner is None:
        assert timers == {}  # the timer reads the owner: cleared
    else:
        from datetime import timedelta

        assert {t["chase"] for t in timers.values()} == {clock.now() + timedelta(days=new_owner)}

    concerned[0] = False  # a batch ten times the size: the same statements, the timers' too (their ids bound as one value)
    more = batch(3000)
    with statements(site.engine) as sql:
        site.records.update_many(job, "tallies", ids=more, changes={"owner_id": new_owner}, owner_change=change)
    assert len(sql) == few, sql
    assert site.records.update_many(job, "tallies", ids=more, changes={"owner_id": new_owner}, owner_change=change) == []  # nothing moves twice
    assert len([m for m in rows(site, OWNERSHIP) if m["record_id"] in more]) == 3000


def test_a_set_based_batch_with_an_id_out_of_reach_writes_nothing_in_the_callers_transaction(make_site, clock):
    """The 404 leaves the caller's transaction as it was (on PostgreSQL the lock, the entries and the
    UPDATE are one statement, which writes nothing unless it found every wanted record)."""
    from kernel import OwnerChange
    from kernel.ownership import EVENTS as OWNERSHIP

    site, calls = owned_tallies_site(make_site, clock, [False])
    rep, other = user(site, "rep@example.cn"), user(site, "other@example.cn")
    ids = fill_tallies(site, 3, owner_id=rep.user_id)
    change = OwnerChange("return", reason="not followed up")
    with site.write() as conn:
        with pytest.raises(NotFound) as refused:
            site.records.update_many(ADMIN, "tallies", ids=[*ids, ids[-1] + 1000], changes={"owner_id": other.user_id}, owner_change=change, conn=conn)
        assert refused.value.details == [{"loc": ["ids", 3], "msg": "not found"}]
        assert site.records.update_many(ADMIN, "tallies", ids=ids[:1], changes={"stage": "won"}, conn=conn) == ids[:1]  # the transaction goes on
    assert {r["id"]: r["owner_id"] for r in rows(site, TALLIES) if r["id"] in ids} == dict.fromkeys(ids, rep.user_id)
    assert [r["record_id"] for r in rows(site, OWNERSHIP)] == []
    assert [(a["record_id"], a["changes"]) for a in rows(site, AUDIT, entity="tallies")] == [(ids[0], {"stage": ["new", "won"]})]
    assert calls == []


def test_a_change_emptying_a_field_a_timer_requires_clears_it_without_reading_the_records(make_site, clock):
    from datetime import timedelta

    from kernel import OwnerChange, Timer
    from kernel.timers import armed, rearm

    computed = []

    def due(record):
        computed.append(record["id"])
        return clock.now() + timedelta(days=1)

    timed = plugin("tally_owners", requires=["tallies"],
                   register_timers=lambda: [Timer("chase", "tallies", lambda **kw: None, due=due, depends_on=("owner_id",), requires=("owner_id",))])
    site = make_site(tallies, timed)
    TallyBase.metadata.create_all(site.engine)
    rep = user(site, "rep@example.cn")
    ids = fill_tallies(site, 500, owner_id=rep.user_id)
    with site.write() as conn:
        rearm(site, conn, "tallies", ids)
    assert len(computed) == 500
    job = Actor(user_id=None, label="timer tallies.chase", role="admin", channel="job")
    with statements(site.engine) as sql:
        assert site.records.update_many(job, "tallies", ids=ids, changes={"owner_id": None}, owner_change=OwnerChange("return")) == ids
    assert len(computed) == 500  # not computed again, and the rows not read back
    assert not any(s.startswith("SELECT") and "tallies_tallies.label" in s for s in sql), sql
    with site.engine.connect() as conn:
        assert armed(conn, "tallies", ids) == {}


def test_an_owner_change_to_someone_names_an_active_user(make_site, clock):
    from kernel import OwnerChange

    site, _ = owned_tallies_site(make_site, clock, [False])
    ids = fill_tallies(site, 3)
    with pytest.raises(ValidationError) as refused:
        site.records.update_many(ADMIN, "tallies", ids=ids, changes={"owner_id": 9999}, owner_change=OwnerChange())
    assert refused.value.details[0]["loc"] == ["owner_id"] and "no user with id 9999" in refused.value.details[0]["msg"]


def test_an_unmarked_update_hook_keeps_an_owner_change_per_record(make_site, clock):
    from kernel import OwnerChange

    calls = []
    hooked = plugin("tally_hook", requires=["tallies"], after_update=lambda entity, record, changes: calls.append((record["id"], changes)))
    site = make_site(tallies, hooked)
    TallyBase.metadata.create_all(site.engine)
    rep = user(site, "rep@example.cn")
    ids = fill_tallies(site, 3, owner_id=rep.user_id)
    assert site.records.update_many(ADMIN, "tallies", ids=ids, changes={"owner_id": None}, owner_change=OwnerChange("return")) == ids
    assert calls == [(i, {"owner_id": (rep.user_id, None)}) for i in ids]


def test_given_fields_names_what_some_row_gives_whatever_the_rows_look_like():
    """A name is given when some row holds anything but ``None``, ``""``, ``[]`` or ``{}`` (``0`` and
    ``False`` are given), whether the rows share their names or not."""
    from kernel.batches import given_fields

    same = [{"a": None, "b": [], "c": 0, "d": ""} for _ in range(5)]
    assert given_fields(same) == {"c"}
    same[3]["d"] = "x"
    same[4]["b"] = [1]
    assert given_fields(same) == {"b", "c", "d"}
    assert given_fields([{"a": None, "b": False}, {"a": {}, "b": None}]) == {"b"}
    assert given_fields([{"a": 1}, {"b": 2}]) == {"a", "b"}  # a name the first row lacks
    assert given_fields([{"a": None, "b": 1}, {"b": 2}]) == frozenset({"b"})  # a row lacking an empty name
    assert given_fields([{"c": True}, {"g": False}]) == {"c", "g"}  # as many names, not the same ones
    assert given_fields([]) == frozenset() and given_fields([{"a": ""}]) == frozenset()
