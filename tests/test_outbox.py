"""The outbox: events written with the write, delivered after commit, at least once, in order per record."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from kernel import Actor
from kernel.models import OutboxDelivery
from kernel.outbox import backoff, dead_letters, dispatch, event_ids, event_name, events_query, retry
from tests.example import plugin as notes_plugin
from tests.helpers import plugin_module as plugin

EVENTS = events_query().subquery("events")
DELIVERIES = OutboxDelivery.__table__
ADMIN = Actor(user_id=3, label="admin@example.cn", role="admin", channel="api")


class Listener:
    """A subscriber that records what it is handed and fails on demand."""

    def __init__(self):
        self.seen = []
        self.failing = set()  # titles whose events fail while listed

    def plugin(self, name):
        def on_event(site, event):
            self.deliver(event)

        return plugin(name, on_event=on_event)

    def deliver(self, event):
        title = (event.changes.get("title") or [None, None])[1]
        if event.record_id in self.failing or title in self.failing:
            raise RuntimeError(f"refused {event.name}")
        self.seen.append(event)


@pytest.fixture
def listener():
    return Listener()


@pytest.fixture
def site(make_site, listener):
    return make_site(notes_plugin, listener.plugin("listener"))


def stored_events(site):
    with site.engine.connect() as conn:
        return conn.execute(sa.select(EVENTS).order_by(EVENTS.c.id)).mappings().all()


def test_every_write_leaves_an_event_named_from_the_audit_action(site):
    note = site.records.create(ADMIN, "notes", {"title": "拜访客户", "priority": 2})
    site.records.update(ADMIN, "notes", note["id"], {"priority": 4})
    site.records.update(ADMIN, "notes", note["id"], {"priority": 4})  # no change: no audit entry, no event
    site.records.act(ADMIN, "notes", note["id"], "close", {"reason": "done"})
    site.records.delete(ADMIN, "notes", note["id"])

    rows = stored_events(site)
    assert [r["name"] for r in rows] == ["notes.created", "notes.updated", "notes.updated", "notes.close", "notes.deleted"]
    assert {r["record_id"] for r in rows} == {note["id"]}
    assert rows[1]["changes"] == {"priority": [2, 4]}
    assert (rows[0]["actor_id"], rows[0]["actor"], rows[0]["channel"]) == (3, "admin@example.cn", "api")
    assert len(set(event_ids(site, [r["id"] for r in rows]).values())) == 5
    assert event_name("notes", "restore") == "notes.restored" and event_name("notes", "transition") == "notes.transition"


def test_a_rolled_back_write_leaves_no_event(site):
    with pytest.raises(RuntimeError):
        with site.write() as conn:
            site.records.create(ADMIN, "notes", {"title": "kept?"}, conn=conn)
            raise RuntimeError("the caller gives up")
    with pytest.raises(RuntimeError, match="on purpose"):  # an after_update hook fails: the update is undone
        note = site.records.create(ADMIN, "notes", {"title": "explode on update"})
        site.records.update(ADMIN, "notes", note["id"], {"priority": 1})
    assert [r["name"] for r in stored_events(site)] == ["notes.created"]


def test_a_rolled_back_savepoint_drops_only_its_events(site):
    with site.write() as conn:
        site.records.create(ADMIN, "notes", {"title": "first"}, conn=conn)
        savepoint = conn.begin_nested()
        site.records.create(ADMIN, "notes", {"title": "second"}, conn=conn)
        savepoint.rollback()
        site.records.create(ADMIN, "notes", {"title": "third"}, conn=conn)
    assert [r["changes"]["title"][1] for r in stored_events(site)] == ["first", "third"]


def test_events_are_delivered_after_commit_once_each(site, listener):
    note = site.records.create(ADMIN, "notes", {"title": "one"})
    site.records.update(ADMIN, "notes", note["id"], {"priority": 5})
    assert listener.seen == []  # nothing is handed over inside the write
    assert dispatch(site) == {"listener": 2}
    assert [e.name for e in listener.seen] == ["notes.created", "notes.updated"]
    assert listener.seen[0].id == event_ids(site, [stored_events(site)[0]["id"]]).popitem()[1]
    assert listener.seen[1].payload()["changes"] == {"priority": [3, 5]}
    assert dispatch(site) == {"listener": 0}  # nothing new: nothing handed twice
    assert len(listener.seen) == 2


def test_a_failing_event_holds_back_its_record_only_and_comes_again_with_the_same_id(site, listener, clock):
    stuck = site.records.create(ADMIN, "notes", {"title": "stuck"})
    listener.failing.add("stuck")
    free = site.records.create(ADMIN, "notes", {"title": "free"})
    site.records.update(ADMIN, "notes", stuck["id"], {"priority": 1})
    site.records.update(ADMIN, "notes", free["id"], {"priority": 2})

    dispatch(site)
    assert [(e.record_id, e.name) for e in listener.seen] == [(free["id"], "notes.created"), (free["id"], "notes.updated")]
    failed_id = event_ids(site, [stored_events(site)[0]["id"]]).popitem()[1]

    clock.advance(backoff(1) - timedelta(seconds=1))
    dispatch(site)  # not due yet
    assert len(listener.seen) == 2

    listener.failing.clear()
    clock.advance(seconds=1)
    dispatch(site)
    later = listener.seen[2:]
    assert [(e.record_id, e.name) for e in later] == [(stuck["id"], "notes.created"), (stuck["id"], "notes.updated")]
    assert later[0].id == failed_id and later[0].attempt == 2  # the same event, redelivered
    with site.engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(DELIVERIES)) == 0


def test_after_max_attempts_an_event_is_a_dead_letter_an_admin_can_retry(site, listener, clock):
    note = site.records.create(ADMIN, "notes", {"title": "poison"})
    listener.failing.add("poison")
    for attempt in range(1, 4):
        dispatch(site, max_attempts=3)
        clock.advance(backoff(attempt))
    letters, total = dead_letters(site)
    assert total == 1 and letters[0]["attempts"] == 3 and letters[0]["event"] == "notes.created"
    assert letters[0]["subscriber"] == "listener" and "refused notes.created" in letters[0]["error"]

    site.records.update(ADMIN, "notes", note["id"], {"priority": 4})  # a dead letter holds its record back no longer
    dispatch(site, max_attempts=3)
    assert [e.name for e in listener.seen] == ["notes.updated"]

    listener.failing.clear()
    assert retry(site, letters[0]["id"]) and not retry(site, letters[0]["id"])
    dispatch(site, max_attempts=3)
    assert [e.name for e in listener.seen] == ["notes.updated", "notes.created"]
    assert listener.seen[-1].id == letters[0]["event_id"]
    assert dead_letters(site)[1] == 0


def test_each_subscriber_has_its_own_deliveries(make_site, listener):
    other = Listener()
    site = make_site(notes_plugin, listener.plugin("listener"), other.plugin("other"))
    note = site.records.create(ADMIN, "notes", {"title": "shared"})
    other.failing.add(note["id"])
    assert dispatch(site) == {"listener": 1, "other": 1}
    other.failing.clear()
    assert [e.name for e in listener.seen] == ["notes.created"] and other.seen == []
    with site.engine.connect() as conn:
        held = conn.execute(sa.select(DELIVERIES.c.subscriber, DELIVERIES.c.status)).all()
    assert [tuple(r) for r in held] == [("other", "retry")]


def test_a_held_subscriber_is_left_to_the_dispatcher_holding_it(site, listener, clock):
    from kernel.outbox import LEASE, _lease

    site.records.create(ADMIN, "notes", {"title": "once"})
    assert _lease(site, "listener", clock.now(), "worker-a")  # another worker is delivering
    assert dispatch(site) == {}
    clock.advance(LEASE)  # that worker died: its lease runs out
    assert dispatch(site) == {"listener": 1}


def test_serve_and_worker_deliver_beside_the_jobs(site, listener):
    from kernel.jobs import schedule

    class Scheduler:
        def __init__(self):
            self.jobs = {}

        def add_job(self, function, trigger, **options):
            self.jobs[options["id"]] = (function, options["seconds"])

    scheduler = Scheduler()
    schedule(scheduler, site)
    deliver, seconds = scheduler.jobs["crm.outbox"]
    assert seconds <= 5
    site.records.create(ADMIN, "notes", {"title": "ticked"})
    deliver()
    assert [e.name for e in listener.seen] == ["notes.created"]


def test_a_large_write_is_one_commit_row_delivered_in_batches_once_each_in_order(site, listener):
    from kernel.models import OutboxCommit
    from kernel.outbox import BATCH

    ids = site.records.create_many(ADMIN, "notes", [{"title": f"n{i}", "priority": 1} for i in range(BATCH * 2 + 7)])
    assert site.records.update_many(ADMIN, "notes", ids=ids, changes={"priority": 2}) == ids
    with site.engine.connect() as conn:
        commits = conn.execute(sa.select(OutboxCommit.__table__).order_by(OutboxCommit.__table__.c.id)).all()
    assert len(commits) == 2 and all(len(c.entries) == 1 for c in commits)  # one row per transaction, one range each
    assert dispatch(site) == {"listener": 2 * len(ids)}
    assert [(e.name, e.record_id) for e in listener.seen] == [("notes.created", i) for i in ids] + [("notes.updated", i) for i in ids]
    assert len({e.id for e in listener.seen}) == 2 * len(ids)
    assert dispatch(site) == {"listener": 0}


def test_audit_ids_of_another_transaction_inside_a_commit_s_bounds_wait_for_their_own_commit(site, listener, clock):
    """On PostgreSQL two transactions' audit ids interleave: each commit row names only its own."""
    from kernel.models import OutboxCommit
    from kernel.outbox import AUDIT, COMMITS

    now = clock.now()
    entry = {"at": now, "actor_id": 3, "actor": "a@example.cn", "channel": "api", "entity": "notes", "action": "update"}
    with site.engine.begin() as conn:  # written by hand: ids 1..3 from two transactions, the second committed first
        ids = conn.execute(
            sa.insert(AUDIT).returning(AUDIT.c.id, sort_by_parameter_order=True),
            [{**entry, "record_id": r, "changes": {"n": [0, n]}} for n, r in ((1, 10), (2, 20), (3, 10))],
        ).scalars().all()
        conn.execute(sa.insert(COMMITS), [{"entries": [[ids[1], ids[1]]], "at": now}, {"entries": [[ids[0], ids[0]], [ids[2], ids[2]]], "at": now}])
    assert OutboxCommit.__table__ is COMMITS
    dispatch(site)
    assert [e.changes["n"][1] for e in listener.seen] == [2, 1, 3]  # commit order; record 10's two in order
