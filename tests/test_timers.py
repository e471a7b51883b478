"""Per-record timers: armed, moved and cleared by the write path; fired in batches, once."""

from __future__ import annotations

import gc
import json
import threading
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from kernel import Actor, DueTimer, PluginError, Timer, arm_timers, armed_timers, clear_timers, move_timers, rearm_timers
from kernel.audit import AUDIT, entry, write
from kernel.cli import make_cli
from kernel.jobs import schedule
from kernel.passwords import cheap_hasher
from kernel.testing import START, fire_due_timers, plugin_module
from kernel.timers import TIMERS, schedule_tick
from tests.example import plugin as notes_plugin

ADMIN = Actor(user_id=None, label="tester", role="admin", channel="api")
DAYS = timedelta(days=3)


class Recorder:
    """A timer handler that archives the batch's open notes set-based, audits each, and remembers its
    successful calls (``fail_next``: how many calls to fail after writing)."""

    def __init__(self) -> None:
        self.calls: list[list[DueTimer]] = []
        self.fail_next = 0
        self.rearm_in_past = False
        self.barrier: threading.Barrier | None = None
        self.threads: dict[int, int] = {}
        self.lock = threading.Lock()
        self.collecting: list[bool] = []  # whether Python's cyclic collector was on, per call

    def __call__(self, site: Any, conn: sa.Connection, actor: Actor, entity: str, timers: list[DueTimer]) -> None:
        self.collecting.append(gc.isenabled())
        notes = site.view.entity(entity).table
        ids = [t.record_id for t in timers]
        archived = conn.scalars(
            sa.update(notes).where(notes.c.id.in_(ids), notes.c.status == "open").values(status="archived").returning(notes.c.id)
        ).all()
        write(conn, [entry(actor, site.clock.now(), entity, i, "archive", {"status": ["open", "archived"]}) for i in archived])
        with self.lock:
            if self.fail_next > 0:  # after writing: the batch must roll back
                self.fail_next -= 1
                raise RuntimeError("the handler failed on purpose")
            self.calls.append(list(timers))
            self.threads[threading.get_ident()] = self.threads.get(threading.get_ident(), 0) + 1
            first_of_thread = self.threads[threading.get_ident()] == 1
        if self.barrier is not None and first_of_thread:
            self.barrier.wait(timeout=30)  # both workers hold a claimed batch at once
        if self.rearm_in_past:
            arm_timers(conn, entity, ids, timers[0].name, site.clock.now() - DAYS)

    @property
    def fired(self) -> list[int]:
        return [t.record_id for call in self.calls for t in call]


def followup_due(record: dict[str, Any]) -> Any:
    if record["status"] != "open" or record["touched_at"] is None:
        return None
    return record["touched_at"] + DAYS


def timer_plugin(recorder: Recorder, batch_size: int = 500, **extra: Any) -> Any:
    followup = Timer(
        name="followup", entity="notes", handler=recorder, due=followup_due, depends_on=("touched_at", "status"), batch_size=batch_size, **extra
    )
    return plugin_module("timertest", requires=["notes"], register_timers=lambda: [followup])


def timers_of(site: Any) -> dict[int, dict[str, Any]]:
    with site.engine.connect() as conn:
        return {row.record_id: dict(row._mapping) for row in conn.execute(sa.select(TIMERS).where(TIMERS.c.entity == "notes"))}


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def site(make_site, recorder):
    return make_site(notes_plugin, timer_plugin(recorder))


# -- the write path arms, moves and clears ------------------------------------------------


def test_create_arms_update_of_a_depended_on_field_moves_and_delete_clears(site):
    note = site.records.create(ADMIN, "notes", {"title": "call back", "touched_at": START})
    bare = site.records.create(ADMIN, "notes", {"title": "never touched"})
    assert {i: t["due_at"] for i, t in timers_of(site).items()} == {note["id"]: START + DAYS}

    site.records.update(ADMIN, "notes", note["id"], {"title": "call back soon", "priority": 5})  # nothing it depends on
    assert timers_of(site)[note["id"]]["due_at"] == START + DAYS

    site.records.update(ADMIN, "notes", note["id"], {"touched_at": (START + timedelta(days=1)).isoformat()})
    site.records.update(ADMIN, "notes", bare["id"], {"touched_at": START.isoformat()})
    assert {i: t["due_at"] for i, t in timers_of(site).items()} == {note["id"]: START + timedelta(days=4), bare["id"]: START + DAYS}

    site.records.update(ADMIN, "notes", bare["id"], {"status": "done"})  # due becomes None: cleared
    assert set(timers_of(site)) == {note["id"]}
    site.records.delete(ADMIN, "notes", note["id"])
    assert timers_of(site) == {}


def test_a_failed_write_leaves_timers_as_they_were(site):
    note = site.records.create(ADMIN, "notes", {"title": "keep", "touched_at": START})
    moved = {"title": "explode on update", "touched_at": (START + timedelta(days=9)).isoformat()}
    with pytest.raises(RuntimeError):  # the example plugin's after_update raises for this title
        site.records.update(ADMIN, "notes", note["id"], moved)
    assert timers_of(site)[note["id"]]["due_at"] == START + DAYS


def test_explicit_arm_move_clear_and_rearm(site):
    ids = site.records.create_many(ADMIN, "notes", [{"title": f"n{i}"} for i in range(4)])
    later = START + timedelta(hours=5)
    with site.write() as conn:
        arm_timers(conn, "notes", ids[:3], "send_at", later)
        arm_timers(conn, "notes", [ids[3]], "send_at", [later + timedelta(hours=1)])
        assert move_timers(conn, "notes", [ids[0], ids[1], 999_999], "send_at", START + timedelta(hours=9)) == 2
        clear_timers(conn, "notes", [ids[2]], "send_at")
        seen = armed_timers(conn, "notes", ids)
    assert seen == {
        ids[0]: {"send_at": START + timedelta(hours=9)},
        ids[1]: {"send_at": START + timedelta(hours=9)},
        ids[3]: {"send_at": later + timedelta(hours=1)},
    }
    notes = site.view.entity("notes").table
    with site.write() as conn:  # a write outside site.records: the plugin recomputes
        conn.execute(sa.update(notes).where(notes.c.id.in_(ids[:2])).values(touched_at=START))
        rearm_timers(site, conn, "notes", ids)
        seen = armed_timers(conn, "notes", ids, "followup")
    assert seen == {ids[0]: {"followup": START + DAYS}, ids[1]: {"followup": START + DAYS}}
    site.records.delete(ADMIN, "notes", ids[0])  # every timer of a deleted record goes, explicit ones too
    with site.engine.connect() as conn:
        assert ids[0] not in armed_timers(conn, "notes", ids)


# -- firing ------------------------------------------------------------------------------


def test_ten_thousand_due_timers_fire_once_each_in_batches(site, recorder, clock):
    ids = []
    for start in range(0, 10_000, 2_500):
        ids += site.records.create_many(ADMIN, "notes", [{"title": f"n{i}", "touched_at": START} for i in range(start, start + 2_500)])
    assert fire_due_timers(site).fired == 0 and recorder.calls == []  # not due yet

    clock.advance(DAYS)
    done = fire_due_timers(site)
    assert (done.fired, done.batches, done.failed) == (10_000, 20, 0)
    assert [len(call) for call in recorder.calls] == [500] * 20
    assert sorted(recorder.fired) == sorted(ids)  # each once
    assert timers_of(site) == {}
    notes = site.view.entity("notes").table
    with site.engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).where(notes.c.status == "archived")) == 10_000
        assert conn.scalar(sa.select(sa.func.count()).select_from(AUDIT).where(AUDIT.c.action == "archive")) == 10_000
    assert fire_due_timers(site).fired == 0


def test_two_workers_at_once_never_fire_a_timer_twice(site, recorder, clock):
    ids = site.records.create_many(ADMIN, "notes", [{"title": f"n{i}", "touched_at": START} for i in range(1_000)])
    clock.advance(DAYS)
    if site.engine.dialect.name == "postgresql":  # each worker waits with a claimed batch until the other has one
        recorder.barrier = threading.Barrier(2)
    results: list[Any] = []

    def work() -> None:
        try:
            results.append(fire_due_timers(site))
        except Exception as exc:  # noqa: BLE001 - reported below
            results.append(exc)

    # batch size 500 in the site's plugin: 1,000 timers are two batches, one per worker on PostgreSQL
    workers = [threading.Thread(target=work) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert all(not isinstance(r, Exception) for r in results), results
    assert sorted(recorder.fired) == sorted(ids)
    assert sum(r.fired for r in results) == 1_000
    if recorder.barrier is not None:
        assert len(recorder.threads) == 2 and not recorder.barrier.broken


def test_a_record_being_written_is_skipped_not_waited_for(site, recorder, clock):
    if site.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: the pass waits for the write to end")
    ids = site.records.create_many(ADMIN, "notes", [{"title": f"n{i}", "touched_at": START} for i in range(3)])
    clock.advance(DAYS)
    notes = site.view.entity("notes").table
    results: list[Any] = []
    worker = threading.Thread(target=lambda: results.append(fire_due_timers(site)))
    with site.write() as conn:  # a follow-up has begun: the record is locked, its timer not yet
        conn.execute(sa.select(notes.c.id).where(notes.c.id == ids[1]).with_for_update())
        worker.start()
        worker.join(timeout=20)
        waited = worker.is_alive()
        site.records.update(ADMIN, "notes", ids[1], {"touched_at": clock.now().isoformat()}, conn=conn)  # moves it
    worker.join(timeout=20)
    assert not waited, "the pass waited for the record's lock"
    assert (results[0].fired, results[0].failed) == (2, 0) and sorted(recorder.fired) == [ids[0], ids[2]]
    assert {i: t["due_at"] for i, t in timers_of(site).items()} == {ids[1]: clock.now() + DAYS}


def test_a_failing_batch_rolls_back_and_fires_on_a_later_pass(site, recorder, clock):
    ids = site.records.create_many(ADMIN, "notes", [{"title": f"n{i}", "touched_at": START} for i in range(3)])
    clock.advance(DAYS)
    recorder.fail_next = 1
    done = fire_due_timers(site)
    assert (done.fired, done.batches, done.failed) == (0, 0, 1)
    notes = site.view.entity("notes").table
    with site.engine.connect() as conn:
        assert set(conn.scalars(sa.select(notes.c.status))) == {"open"}  # the handler's writes rolled back
        assert conn.scalar(sa.select(sa.func.count()).select_from(AUDIT).where(AUDIT.c.action == "archive")) == 0
    kept = timers_of(site)
    assert set(kept) == set(ids)
    assert {(t["attempts"], t["next_at"], t["due_at"]) for t in kept.values()} == {(1, START + DAYS + timedelta(minutes=1), START + DAYS)}
    assert "failed on purpose" in kept[ids[0]]["error"]

    assert fire_due_timers(site).fired == 0  # backing off
    clock.advance(minutes=1)
    done = fire_due_timers(site)
    assert (done.fired, done.failed) == (3, 0)
    assert sorted(recorder.fired) == sorted(ids) and {t.attempts for t in recorder.calls[-1]} == {1}
    assert {t.due_at for t in recorder.calls[-1]} == {START + DAYS}
    assert timers_of(site) == {}


def test_sqlite_batch_size_sets_the_batch_on_sqlite_only(make_site, recorder, clock):
    site = make_site(notes_plugin, timer_plugin(recorder, batch_size=10, sqlite_batch_size=15))
    site.records.create_many(ADMIN, "notes", [{"title": f"n{i}", "touched_at": START} for i in range(30)])
    clock.advance(DAYS)
    done = fire_due_timers(site)
    sizes = [15, 15] if site.engine.dialect.name == "sqlite" else [10, 10, 10]
    assert (done.fired, done.batches) == (30, len(sizes)) and [len(call) for call in recorder.calls] == sizes


def test_clearing_the_timers_a_batch_fired_costs_no_statement_unless_armed_again(make_site, clock):
    """The handler's transaction deleted the timers it fires: clearing them again (a change emptying a
    field the timer requires) sends nothing, but one armed again meanwhile is cleared; the note of
    what was claimed goes with the batch, even a failing one."""
    sent: list[list[str]] = []
    fail = [True]

    def handler(site: Any, conn: sa.Connection, actor: Actor, entity: str, timers: list[DueTimer]) -> None:
        ids = [t.record_id for t in timers]
        statements: list[str] = []

        def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            statements.append(statement)

        sa.event.listen(conn, "before_cursor_execute", seen)
        try:
            clear_timers(conn, entity, ids, "followup")  # fired by this batch: gone already
            clear_timers(conn, entity, ids[:1], "followup")
            sent.append([s for s in statements if "kernel_timers" in s])
            clear_timers(conn, entity, ids, "other")  # another timer of theirs: cleared as ever
            arm_timers(conn, entity, ids[:2], "followup", site.clock.now() - DAYS)  # armed again in the past ...
            statements.clear()
            clear_timers(conn, entity, ids, "followup")  # ... so cleared with a statement
            sent.append([s for s in statements if "kernel_timers" in s])
        finally:
            sa.event.remove(conn, "before_cursor_execute", seen)
        if fail[0]:
            fail[0] = False
            raise RuntimeError("the handler failed on purpose")

    followup = Timer(name="followup", entity="notes", handler=handler, due=followup_due, depends_on=("touched_at", "status"))
    site = make_site(notes_plugin, plugin_module("timertest", requires=["notes"], register_timers=lambda: [followup]))
    ids = site.records.create_many(ADMIN, "notes", [{"title": f"n{i}", "touched_at": START} for i in range(3)])
    with site.write() as conn:
        arm_timers(conn, "notes", ids, "other", START + 10 * DAYS)
    clock.advance(DAYS)
    assert fire_due_timers(site).failed == 1
    with site.engine.connect() as conn:
        assert "crm_timers_claimed" not in conn.info
    clock.advance(minutes=1)
    assert fire_due_timers(site).fired == 3
    with site.engine.connect() as conn:
        assert "crm_timers_claimed" not in conn.info
    assert sent[0] == [] and sent[2] == []  # nothing sent for the timers just fired, in either batch
    assert len(sent[1]) == 1 and sent[1][0].lstrip().upper().startswith("DELETE") and len(sent[3]) == 1
    assert timers_of(site) == {}  # the re-armed ones cleared, "other" too


def test_the_cyclic_collector_is_paused_during_a_batch_and_restored_after(site, recorder, clock):
    """A batch's short-lived objects set off no full-heap collection; the collector comes back after the
    batch (a failing one too), and one turned off by the application stays off."""
    site.records.create_many(ADMIN, "notes", [{"title": f"n{i}", "touched_at": START} for i in range(3)])
    clock.advance(DAYS)
    assert gc.isenabled()
    recorder.fail_next = 1
    assert fire_due_timers(site).failed == 1
    assert recorder.collecting == [False] and gc.isenabled()
    clock.advance(minutes=1)
    gc.disable()
    try:
        assert fire_due_timers(site).fired == 3
        assert recorder.collecting == [False, False] and not gc.isenabled()
    finally:
        gc.enable()


def test_a_timer_armed_during_a_pass_waits_for_the_next(site, recorder, clock):
    ids = site.records.create_many(ADMIN, "notes", [{"title": f"n{i}", "touched_at": START} for i in range(3)])
    clock.advance(DAYS)
    recorder.rearm_in_past = True
    assert fire_due_timers(site).fired == 3  # not again and again in the same pass
    assert set(timers_of(site)) == set(ids)
    recorder.rearm_in_past = False
    assert fire_due_timers(site).fired == 3 and timers_of(site) == {}


def test_timers_of_a_disabled_plugin_stay_armed_and_do_not_fire(make_site, recorder, clock):
    plugin = timer_plugin(recorder)
    site = make_site(notes_plugin, plugin, plugins=("notes", "timertest"))
    site.records.create(ADMIN, "notes", {"title": "x", "touched_at": START})
    other = make_site(notes_plugin, plugin, plugins=("notes",), migrate=False)
    clock.advance(DAYS)
    assert other.view.timers == {} and fire_due_timers(other).fired == 0
    assert len(timers_of(site)) == 1 and recorder.calls == []
    other.records.create(ADMIN, "notes", {"title": "y", "touched_at": START})  # nobody arms it
    assert len(timers_of(site)) == 1
    assert fire_due_timers(site).fired == 1


def test_declarations_are_checked_at_start_up(make_site, recorder):
    bad = [
        (Timer("t", "ghosts", recorder), "no enabled entity 'ghosts'"),
        (Timer("t", "notes", recorder, due=followup_due), "depends_on"),
        (Timer("t", "notes", recorder, due=followup_due, depends_on=("nope",)), "'nope'"),
        (Timer("bad name", "notes", recorder), "snake_case"),
        (Timer("t", "notes", recorder, sqlite_batch_size=0), "batch_size must be at least 1"),
        (Timer("t", "notes", recorder, due=followup_due, depends_on=("status",), requires=("touched_at",)), "requires names 'touched_at'"),
    ]
    make_site(notes_plugin)
    for timer, message in bad:
        site = make_site(notes_plugin, plugin_module("timertest", requires=["notes"], register_timers=lambda t=timer: [t]), migrate=False)
        with pytest.raises(PluginError, match=message):
            site.view  # noqa: B018


def test_due_many_computes_a_batch_at_once(make_site, recorder):
    seen = []

    def due_many(site, conn, entity, records):
        seen.append(len(records))
        return [START + timedelta(days=r["priority"]) for r in records]

    timer = Timer("by_priority", "notes", recorder, due_many=due_many, depends_on=("priority",))
    site = make_site(notes_plugin, plugin_module("timertest", requires=["notes"], register_timers=lambda: [timer]))
    ids = site.records.create_many(ADMIN, "notes", [{"title": "a", "priority": 1}, {"title": "b", "priority": 2}])
    assert seen == [2]
    assert {i: t["due_at"] for i, t in timers_of(site).items()} == {ids[0]: START + timedelta(days=1), ids[1]: START + timedelta(days=2)}


def test_a_record_without_a_required_field_has_no_timer_and_is_not_computed(make_site, recorder):
    seen = []

    def due_many(site, conn, entity, records):
        seen.append([r["title"] for r in records])
        return [r["touched_at"] + DAYS for r in records]

    timer = Timer("touched", "notes", recorder, due_many=due_many, depends_on=("touched_at",), requires=("touched_at",))
    site = make_site(notes_plugin, plugin_module("timertest", requires=["notes"], register_timers=lambda: [timer]))
    ids = site.records.create_many(ADMIN, "notes", [{"title": "a", "touched_at": START}, {"title": "b"}])
    assert seen == [["a"]]
    assert {i: t["due_at"] for i, t in timers_of(site).items()} == {ids[0]: START + DAYS}
    site.records.update(ADMIN, "notes", ids[0], {"touched_at": None})
    assert seen == [["a"]] and timers_of(site) == {}


def test_the_scheduler_tick_and_jobs_run_fire_due_timers(site, recorder, clock, tmp_path, database_url):
    from apscheduler.schedulers.background import BackgroundScheduler

    scheduler = BackgroundScheduler(timezone="UTC")
    schedule(scheduler, site)
    assert scheduler.get_job("crm.due_timers") is not None
    first = site.records.create(ADMIN, "notes", {"title": "a", "touched_at": START})
    clock.advance(DAYS)
    schedule_tick(site)()
    assert recorder.fired == [first["id"]]

    second = site.records.create(ADMIN, "notes", {"title": "b", "touched_at": START})  # due already
    config = tmp_path / "crm.toml"
    config.write_text(f"[crm]\ndatabase_url = {json.dumps(database_url)}\nplugins = [\"notes\", \"timertest\"]\n", encoding="utf-8")
    cli = make_cli(extra_plugins=(notes_plugin, timer_plugin(recorder)), password_hasher=cheap_hasher())
    result = CliRunner().invoke(cli, ["--config", str(config), "jobs", "run", "--now", "2026-02-01T00:00:00Z"], prog_name="crm")
    assert result.exit_code == 0, result.output
    assert "1 fired in 1 batch, 0 failed" in result.output
    assert recorder.fired == [first["id"], second["id"]]
