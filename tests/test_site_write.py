"""Site.write: simultaneous writes that cross never surface as a database error (a 500), on either database."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa

import kernel.db
from kernel import Actor, Conflict
from kernel.site import WriteClash
from tests.example import plugin as notes_plugin

SYSTEM = Actor.system("cli")


def test_crossing_writes_are_serialized_or_answered_409_and_the_loser_can_send_again(make_site):
    """Two transactions take the same two rows in opposite order: PostgreSQL detects a deadlock."""
    site = make_site(notes_plugin)
    first, second = (site.records.create(SYSTEM, "teams", {"name": name})["id"] for name in ("North", "South"))
    teams = site.view.entity("teams").table
    took_one, took_other = threading.Event(), threading.Event()
    outcomes: dict[str, object] = {}

    def rename(label: str, order: tuple[int, int], mine: threading.Event, theirs: threading.Event) -> None:
        try:
            with site.write() as conn:
                conn.execute(sa.update(teams).where(teams.c.id == order[0]).values(name=f"{label}-a"))
                mine.set()
                theirs.wait(timeout=1)  # on SQLite the other is waiting for the write lock and never gets here
                conn.execute(sa.update(teams).where(teams.c.id == order[1]).values(name=f"{label}-b"))
            outcomes[label] = "written"
        except Exception as exc:  # noqa: BLE001 - what the caller would see is the point
            outcomes[label] = exc

    def second_writer() -> None:
        took_one.wait(timeout=5)
        rename("two", (second, first), took_other, took_one)

    threads = [threading.Thread(target=rename, args=("one", (first, second), took_one, took_other)), threading.Thread(target=second_writer)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    failures = [outcome for outcome in outcomes.values() if outcome != "written"]
    assert len(outcomes) == 2 and all(isinstance(failure, WriteClash) for failure in failures), outcomes
    if site.engine.dialect.name == "postgresql":
        assert len(failures) == 1  # the deadlock is broken by aborting one of them, whole
    else:
        assert failures == []  # BEGIN IMMEDIATE made the second wait for the first
    [clash] = failures or [WriteClash()]
    assert isinstance(clash, Conflict) and clash.status == 409 and clash.retry_after == 1
    with site.write() as conn:  # sending it again works
        conn.execute(sa.update(teams).where(teams.c.id == first).values(name="again"))
    assert site.records.get(SYSTEM, "teams", first)["name"] == "again"


@pytest.mark.parametrize("state", ["40P01", "40001"])
def test_a_deadlock_or_serialization_failure_is_a_409_with_retry_after(make_site, state):
    site = make_site(notes_plugin)

    class Orig(Exception):
        sqlstate = state

    with pytest.raises(WriteClash) as clash:
        with site.write():
            raise sa.exc.OperationalError("UPDATE ...", {}, Orig("deadlock detected"))
    assert clash.value.code == "conflict" and clash.value.retry_after == 1
    with pytest.raises(sa.exc.OperationalError):  # anything else is not a clash
        with site.write():
            raise sa.exc.OperationalError("UPDATE ...", {}, Exception("disk I/O error"))


def test_a_process_s_writers_wait_their_turn_in_it_on_sqlite_and_overlap_on_postgresql(make_site):
    """SQLite: while one thread writes, another thread's write does not even take a connection (so it
    is not in SQLite's busy handler, which sleeps up to 0.1 s between tries), and goes in when the first
    ends. PostgreSQL locks rows, not the database: no in-process turn is taken, and a write of another
    row goes in and commits while the first is still open."""
    site = make_site(notes_plugin)
    sqlite = site.engine.dialect.name == "sqlite"
    north, south = (site.records.create(SYSTEM, "teams", {"name": name})["id"] for name in ("North", "South"))
    teams = site.view.entity("teams").table
    checked_out: list[str] = []
    sa.event.listen(site.engine, "checkout", lambda *args: checked_out.append(threading.current_thread().name))
    holding, release = threading.Event(), threading.Event()
    turns_held: list[set[int | None]] = []

    def first() -> None:
        with site.write() as conn:
            conn.execute(sa.update(teams).where(teams.c.id == north).values(name="first"))
            turns_held.append({writers.holder for writers in kernel.db._writers.values()} - {None})
            holding.set()
            release.wait(timeout=10)

    def second() -> None:
        with site.write() as conn:
            conn.execute(sa.update(teams).where(teams.c.id == south).values(name="second"))

    one, two = threading.Thread(target=first, name="one"), threading.Thread(target=second, name="two")
    one.start()
    assert holding.wait(timeout=10)
    two.start()
    try:
        two.join(timeout=0.3 if sqlite else 10)
        if sqlite:
            assert turns_held == [{one.ident}]  # the first holds this database's turn
            assert two.is_alive() and checked_out == ["one"]  # waiting in the process's queue
        else:
            assert turns_held == [set()]  # no turn is taken on PostgreSQL
            assert not two.is_alive() and checked_out == ["one", "two"]  # written while the first is open
            assert site.records.get(SYSTEM, "teams", south)["name"] == "second"
            assert site.records.get(SYSTEM, "teams", north)["name"] == "North"  # the first has not committed
    finally:
        release.set()
        one.join(timeout=10)
        two.join(timeout=10)
    assert checked_out[:2] == ["one", "two"]
    assert site.records.get(SYSTEM, "teams", north)["name"] == "first"
    assert site.records.get(SYSTEM, "teams", south)["name"] == "second"


def test_a_writer_waits_for_sqlite_s_lock_no_longer_than_the_busy_timeout_and_on_postgresql_not_at_all(make_site, monkeypatch):
    """SQLite: past the busy timeout a writer fails as "database is locked" and writes nothing.
    PostgreSQL: an insert does not wait for another transaction's write at all."""
    site = make_site(notes_plugin)
    monkeypatch.setattr("kernel.db.BUSY_SECONDS", 0.2)
    teams = site.view.entity("teams").table
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with site.write() as conn:
            conn.execute(sa.insert(teams).values(name="Held", created_at=site.clock.now(), updated_at=site.clock.now(), custom={}))
            holding.set()
            release.wait(timeout=10)

    def late() -> None:
        with site.write() as conn:
            conn.execute(sa.insert(teams).values(name="Late", created_at=site.clock.now(), updated_at=site.clock.now(), custom={}))

    holder = threading.Thread(target=hold)
    holder.start()
    assert holding.wait(timeout=10)
    try:
        if site.engine.dialect.name == "sqlite":
            with pytest.raises(sa.exc.OperationalError, match="database is locked"):
                late()
        else:
            started = time.monotonic()
            late()
            assert time.monotonic() - started < 0.2 and holder.is_alive()  # committed while "Held" is still open
    finally:
        release.set()
        holder.join(timeout=10)
    with site.engine.connect() as conn:
        names = set(conn.scalars(sa.select(teams.c.name)))
    assert "Held" in names and ("Late" in names) == (site.engine.dialect.name == "postgresql")
