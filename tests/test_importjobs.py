"""Batched imports (:mod:`kernel.importjobs`): a checkpoint per committed batch, resume after a kill, undo."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from kernel import Actor, hookimpl
from kernel.cli import make_cli
from kernel import importjobs
from kernel.importing import ImportRefused, Writer, import_rows, read_sheet
from kernel.importjobs import MAPPINGS, RECORDS, BatchSizes, file_hash, import_in_batches, latest_unfinished, load, resume, undo
from kernel.models import AuditEntry
from kernel.passwords import cheap_hasher
from tests.test_cli_transfer import config_for

SYSTEM = Actor.system("cli")
ROWS = 20_000


class Killed(BaseException):
    """What a ``kill -9`` does to the import: it stops, whatever it was doing (not an error the import handles)."""


class Saboteur:
    """A plugin that kills the import while a batch is being written: before the ``n``-th record is created."""

    NAME = "saboteur"
    REQUIRES = ("customers",)

    def __init__(self) -> None:
        self.countdown: int | None = None

    @hookimpl
    def before_create(self, site, conn, actor, entity, values):
        if self.countdown is not None:
            self.countdown -= 1
            if self.countdown == 0:
                self.countdown = None
                raise Killed()


@pytest.fixture(autouse=True)
def no_gap_between_batches(monkeypatch):
    """No test sleeps: the gap SQLite's lock is left free between batches is tested on its own (:class:`BatchSizes`)."""
    monkeypatch.setattr(importjobs, "LOCK_GAP", 0.0)


@pytest.fixture
def saboteur() -> Saboteur:
    return Saboteur()


@pytest.fixture
def site(make_site, saboteur):
    return make_site(saboteur, plugins=("customers", "saboteur"))


def big_csv(rows: int, prefix: str = "Firm") -> bytes:
    area = 130 + sum(map(ord, prefix)) % 10  # other phones for other prefixes: not duplicates of each other
    lines = ["客户名称,联系电话,客户来源"] + [f"{prefix} {i:05d},{area}{i:08d},展会" for i in range(rows)]
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def kill_after(done_at: int, killed_at: list[int] | None = None):
    """A progress callback killing the import after the batch that reaches ``done_at`` rows committed
    (batches vary in size on SQLite), noting in ``killed_at`` how many rows were done."""
    def progress(done: int, total: int) -> None:
        if done >= done_at:
            if killed_at is not None:
                killed_at.append(done)
            raise Killed()
    return progress


def stored_names(site: Any) -> Counter[str]:
    table = site.view.entity("customers").table
    with site.engine.connect() as conn:
        return Counter(conn.scalars(sa.select(table.c.name)))


def creates_audited(site: Any) -> Counter[int]:
    with site.engine.connect() as conn:
        return Counter(conn.scalars(sa.select(AuditEntry.record_id).where(AuditEntry.entity == "customers", AuditEntry.action == "create")))


def test_a_20k_row_import_killed_three_times_ends_with_every_row_once(site, saboteur):
    data = big_csv(ROWS)
    sheet = read_sheet(data, replace_limits())
    chance = random.Random(17)
    options = dict(filename="/data/old-crm.csv", file_hash=file_hash(data), batch_size=1_000)
    killed_at: list[int] = []
    with pytest.raises(Killed):  # right after the batch reaching row 2,000–7,000 committed
        import_in_batches(site, SYSTEM, "customers", sheet, progress=kill_after(chance.randrange(2, 8) * 1_000, killed_at), **options)
    job = latest_unfinished(site)
    assert job is not None and job.status == "running" and job.last_row == killed_at[0] + 1  # row numbers start at 2
    assert sum(stored_names(site).values()) == killed_at[0]

    saboteur.countdown = chance.randrange(1_500, 4_500)  # killed inside a batch: that batch is lost whole, checkpoint too
    with pytest.raises(Killed):
        resume(site, SYSTEM, load(site, job.id), data, sheet)
    job = load(site, job.id)
    assert killed_at[0] < job.last_row - 1 and sum(stored_names(site).values()) == job.last_row - 1 == job.imported

    third = job.last_row - 1 + chance.randrange(1, 6) * 1_000
    with pytest.raises(Killed):
        resume(site, SYSTEM, job, data, sheet, progress=kill_after(third))
    report = resume(site, SYSTEM, load(site, job.id), data, sheet)

    names = stored_names(site)
    assert set(names) == {f"Firm {i:05d}" for i in range(ROWS)} and set(names.values()) == {1}
    job = load(site, job.id)
    assert job.status == "done" and job.imported == ROWS == report.imported and job.duplicates == 0
    audited = creates_audited(site)
    assert len(audited) == ROWS and set(audited.values()) == {1}
    with site.engine.connect() as conn:
        kept = list(conn.scalars(sa.select(RECORDS.c.record_id).where(RECORDS.c.job_id == job.id)))
    assert sorted(kept) == sorted(audited)
    assert latest_unfinished(site) is None


def replace_limits() -> Any:
    from kernel.filereading import Limits

    return Limits(rows=1_000_000, bytes=2**30)


def test_resume_refuses_a_changed_file_and_a_finished_job(site):
    data = big_csv(30)
    with pytest.raises(Killed):
        import_in_batches(site, SYSTEM, "customers", read_sheet(data), filename="x.csv", file_hash=file_hash(data), batch_size=10, progress=kill_after(10))
    job = latest_unfinished(site)
    changed = big_csv(31)
    with pytest.raises(ImportRefused, match="changed since import job"):
        resume(site, SYSTEM, job, changed, read_sheet(changed))
    resume(site, SYSTEM, job, data, read_sheet(data))
    with pytest.raises(ImportRefused, match="is done; there is nothing to resume"):
        resume(site, SYSTEM, load(site, job.id), data, read_sheet(data))
    assert sum(stored_names(site).values()) == 30


def test_duplicates_of_earlier_batches_and_stored_records_are_skipped_across_batches(site):
    site.records.create(SYSTEM, "customers", {"name": "Firm 00003 有限公司"})
    data = big_csv(20) + "Firm 00015,,\r\n".encode()  # a duplicate of a row in an earlier batch
    report = import_in_batches(site, SYSTEM, "customers", read_sheet(data), filename="x.csv", file_hash=file_hash(data), batch_size=7)
    assert report.imported == 19 and [issue.row for issue in report.duplicates] == [5, 22]
    job = load(site, report.job)
    assert job.duplicates == 2 and job.status == "done" and any("Firm 00003 有限公司" in line for line in job.issues)


def test_a_batch_with_invalid_rows_stops_the_job_unless_they_may_be_skipped(site):
    data = big_csv(20).replace(b"Firm 00012," + f"{130 + sum(map(ord, 'Firm')) % 10}00000012".encode(), b"Firm 00012,not-a-phone!")
    report = import_in_batches(site, SYSTEM, "customers", read_sheet(data), filename="x.csv", file_hash=file_hash(data), batch_size=5)
    assert report.stopped and report.imported == 10  # batches 1-2 kept, batch 3 (rows 12-16) rolled back
    job = load(site, report.job)
    assert job.status == "stopped" and job.last_row == 11 and any("row 14" in line for line in job.issues)
    skipped = import_in_batches(site, SYSTEM, "customers", read_sheet(data), filename="x.csv", file_hash=file_hash(data), batch_size=5, skip_invalid=True)
    assert not skipped.stopped and skipped.imported == 9 and skipped.invalid_rows == [14]  # the first 10 are duplicates now


def test_undo_removes_exactly_the_jobs_records_through_the_write_path(site):
    small = import_rows(site, SYSTEM, "customers", read_sheet(big_csv(3, "Small")))
    data = big_csv(25, "Batched")
    batched = import_in_batches(site, SYSTEM, "customers", read_sheet(data), filename="x.csv", file_hash=file_hash(data), batch_size=10)
    assert small.job is not None and batched.job not in (None, small.job)
    site.records.delete(SYSTEM, "customers", batched.ids[0])  # already gone: undo leaves it be
    assert undo(site, SYSTEM, batched.job) == 24
    assert sorted(stored_names(site)) == ["Small 00000", "Small 00001", "Small 00002"]
    with site.engine.connect() as conn:
        deleted = Counter(conn.scalars(sa.select(AuditEntry.record_id).where(AuditEntry.entity == "customers", AuditEntry.action == "delete")))
    assert sorted(deleted) == sorted(batched.ids) and set(deleted.values()) == {1}
    assert load(site, batched.job).status == "undone"
    assert undo(site, SYSTEM, small.job) == 3 and sum(stored_names(site).values()) == 0


def test_the_cli_resumes_a_killed_import_and_undoes_it(site, tmp_path, database_url):
    path = tmp_path / "old.csv"
    data = big_csv(2_500)
    path.write_bytes(data)
    killed_at: list[int] = []
    with pytest.raises(Killed):
        import_in_batches(site, SYSTEM, "customers", read_sheet(data), filename=str(path), file_hash=file_hash(data), batch_size=1_000, progress=kill_after(1_000, killed_at))
    config = config_for(tmp_path / "crm.toml", database_url)
    (tmp_path / "crm.toml").write_text((tmp_path / "crm.toml").read_text())

    def crm(*args: str) -> Any:
        return CliRunner().invoke(make_cli(password_hasher=cheap_hasher()), ["--config", config, *args], prog_name="crm")

    result = crm("import", "--resume")
    assert result.exit_code == 0, result.output
    assert "resuming import job 1 (customers from" in result.stderr and f"after row {killed_at[0] + 1}" in result.stderr
    assert result.stdout.strip() == "imported 2,500 customers, skipped 0 duplicates, 0 invalid"
    assert sum(stored_names(site).values()) == 2_500
    assert crm("import", "--resume").exit_code == 1
    undone = crm("import", "--undo", "1")
    assert undone.exit_code == 0 and undone.stdout.strip() == "import job 1 undone: 2,500 records moved to the recycle bin"
    assert sum(stored_names(site).values()) == 0


def test_the_cli_imports_in_batches_when_asked_and_several_files_in_one_command(site, tmp_path, database_url):
    customers = tmp_path / "customers.csv"
    customers.write_bytes(big_csv(12))
    more = tmp_path / "more.csv"
    more.write_bytes(big_csv(5, "More"))
    config = config_for(tmp_path / "crm.toml", database_url)
    result = CliRunner().invoke(
        make_cli(password_hasher=cheap_hasher()), ["--config", config, "import", "customers", str(customers), "customers", str(more), "--batch", "5"], prog_name="crm",
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == ["imported 12 customers, skipped 0 duplicates, 0 invalid", "imported 5 customers, skipped 0 duplicates, 0 invalid"]
    assert load(site, 1).options["batch"] == 5 and load(site, 1).status == "done"


def count_statements(site: Any) -> Any:
    """The SQL statements run on ``site``'s engine while the returned list is being filled."""
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if "kernel_versions" not in statement:  # the tests' sites look for changed plugins and fields at every use
            seen.append(statement)

    sa.event.listen(site.engine, "before_cursor_execute", record)
    return seen, lambda: sa.event.remove(site.engine, "before_cursor_execute", record)


def is_lookup(statement: str) -> bool:
    """The customers plugin's batch look-up by dedupe keys (an IN list on SQLite, one bound array on PostgreSQL)."""
    return statement.lstrip().upper().startswith("SELECT") and ("name_key IN" in statement or "name_key = ANY" in statement)


def test_duplicates_are_found_in_a_few_queries_per_batch_not_one_per_row(site):
    site.records.create(SYSTEM, "customers", {"name": "Firm 00003"})
    data = big_csv(1_000) + "Firm 00500 有限公司,,\r\n".encode()
    batches: list[int] = []
    seen, stop = count_statements(site)
    try:
        report = import_in_batches(
            site, SYSTEM, "customers", read_sheet(data), filename="x.csv", file_hash=file_hash(data), batch_size=250,
            progress=lambda done, total: batches.append(done),
        )
    finally:
        stop()
    assert [issue.row for issue in report.duplicates] == [5, 1002]  # a stored record; a row of an earlier batch
    lookups = [s for s in seen if is_lookup(s)]  # the look-ups, not the read-back of new rows
    assert len(lookups) == len(batches) >= 5  # one per batch (at most 250 rows; fewer where SQLite's lock is kept short)
    assert len(seen) < len(batches) * 40  # the statements of a batch do not grow with its rows


def test_create_many_asks_for_look_alikes_once_for_the_whole_batch(site):
    site.records.create(SYSTEM, "customers", {"name": "Firm 00003"})
    rows = [{"name": f"Firm {i:05d}", "phone": f"1370000{i:04d}"} for i in range(200)]
    seen, stop = count_statements(site)
    try:
        created = site.records.create_many(SYSTEM, "customers", rows, return_records=True, on_duplicate="warn")
    finally:
        stop()
    assert [r["name"] for r in created if r.get("warnings")] == ["Firm 00003"]
    assert len([s for s in seen if is_lookup(s)]) == 1


def test_a_mapping_saved_by_name_is_used_again(site, tmp_path, database_url):
    config = config_for(tmp_path / "crm.toml", database_url)
    path = tmp_path / "legacy.csv"
    path.write_bytes("旧系统编号,单位,备注\nA1,甲公司,x\n".encode("utf-8"))

    def crm(*args: str) -> Any:
        return CliRunner().invoke(make_cli(password_hasher=cheap_hasher()), ["--config", config, *args], prog_name="crm")

    first = crm("import", "customers", str(path), "--map", "单位=name", "--map", "旧系统编号=", "--map", "备注=", "--save-map", "legacy", "--dry-run")
    assert first.exit_code == 0, first.output
    again = crm("import", "customers", str(path), "--use-map", "legacy")
    assert again.exit_code == 0, again.output
    assert list(stored_names(site)) == ["甲公司"]
    missing = crm("import", "customers", str(path), "--use-map", "nope")
    assert missing.exit_code == 1 and "no mapping named 'nope' is saved for customers" in missing.stderr


def write_elsewhere(site: Any, name: str) -> None:
    """Save a mapping on another connection, in its own write transaction; on SQLite it gives up at once
    (no busy wait) when another connection holds the write lock."""
    with site.engine.connect() as other:
        sqlite = other.dialect.name == "sqlite"
        if sqlite:
            other.connection.driver_connection.execute("PRAGMA busy_timeout=0")
        try:
            other.execution_options(crm_write=True)
            with other.begin():
                other.execute(sa.insert(MAPPINGS).values(entity="customers", name=name, mapping={}, updated_at=site.clock.now()))
        finally:
            if sqlite:
                other.connection.driver_connection.execute("PRAGMA busy_timeout=30000")


def test_a_batchs_checks_run_before_its_write_transaction_so_others_can_write_meanwhile(site, monkeypatch):
    checks = site.records.find_duplicates
    during: list[bool] = []

    def check_while_someone_writes(actor, entity, rows, *, conn=None):
        during.append(bool(conn is not None and conn.get_execution_options().get("crm_write")))
        write_elsewhere(site, f"written during check {len(during)}")  # "database is locked" if the import held the lock
        return checks(actor, entity, rows, conn=conn)

    monkeypatch.setattr(site.records, "find_duplicates", check_while_someone_writes)
    data = big_csv(30)
    report = import_in_batches(site, SYSTEM, "customers", read_sheet(data), filename="x.csv", file_hash=file_hash(data), batch_size=10)
    assert report.imported == 30 and during == [False, False, False]  # one check a batch, none in a write transaction
    with site.engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(MAPPINGS).where(MAPPINGS.c.name.like("written during check %"))) == 3


def test_a_lookalike_stored_between_a_batchs_check_and_its_write_is_still_a_duplicate(site, monkeypatch):
    check = Writer.check
    stored: list[int] = []

    def check_then_someone_stores_a_lookalike(self, conn, batch, *, watch=True):
        checked = check(self, conn, batch, watch=watch)
        if watch and not stored and any(number == 6 for number, _ in batch):  # row 6 is Firm 00004
            stored.append(site.records.create(Actor.system("api"), "customers", {"name": "Firm 00004 有限公司"})["id"])
        return checked

    monkeypatch.setattr(Writer, "check", check_then_someone_stores_a_lookalike)
    data = big_csv(12)
    report = import_in_batches(site, SYSTEM, "customers", read_sheet(data), filename="x.csv", file_hash=file_hash(data), batch_size=5)
    assert [(issue.row, issue.duplicate_of) for issue in report.duplicates] == [(6, (stored[0],))]
    names = stored_names(site)
    assert report.imported == 11 and "Firm 00004" not in names and names["Firm 00004 有限公司"] == 1 and sum(names.values()) == 12


def test_an_unrelated_write_between_check_and_write_asks_no_second_check(site, monkeypatch):
    check = Writer.check
    calls: list[bool] = []

    def counted(self, conn, batch, *, watch=True):
        calls.append(watch)
        checked = check(self, conn, batch, watch=watch)
        site.records.create(Actor.system("api"), "users", {"email": f"u{len(calls)}@example.com", "name": "U", "role": "admin"})
        return checked

    monkeypatch.setattr(Writer, "check", counted)
    data = big_csv(10)
    report = import_in_batches(site, SYSTEM, "customers", read_sheet(data), filename="x.csv", file_hash=file_hash(data), batch_size=5)
    assert report.imported == 10 and calls == [True, True]  # a user written meanwhile is no reason to check customers again


def test_batches_on_sqlite_shrink_to_hold_the_write_lock_briefly_and_elsewhere_keep_their_size(monkeypatch):
    sizes = BatchSizes(1_000, one_writer=True)
    assert sizes.next == 62  # 1,000 halved till it is at most 100 rows, the first guess
    sizes.written(62, 0.031)  # 2,000 rows/s: 300 fit in 0.15 s
    assert sizes.next == 250
    sizes.written(250, 30.0)
    assert sizes.next == 62  # never under 50
    sizes.written(62, 0.001)
    assert sizes.next == 1_000  # never more than asked
    assert BatchSizes(7, one_writer=True).next == 7
    monkeypatch.setattr(importjobs, "LOCK_GAP", 0.1)
    assert sizes.pause(0.0) == 0.001  # the lock is left free as long as the last batch held it, up to 0.1 s
    sizes.written(62, 0.5)
    assert sizes.pause(0.03) == pytest.approx(0.07) and sizes.pause(0.2) == 0.0
    other = BatchSizes(1_000, one_writer=False)
    other.written(1_000, 30.0)
    assert other.next == 1_000 and other.pause(0.0) == 0.0


def test_the_garbage_collector_is_paused_while_a_batch_runs_and_back_on_after(site, saboteur, monkeypatch):
    import gc

    seen: list[tuple[str, bool]] = []
    check = Writer.check

    def watched(self, conn, batch, **kw):
        seen.append(("check", gc.isenabled()))
        return check(self, conn, batch, **kw)

    monkeypatch.setattr(Writer, "check", watched)
    data = big_csv(2_500, "Gc")
    sheet = read_sheet(data, replace_limits())
    progress_seen: list[bool] = []
    assert gc.isenabled()
    report = import_in_batches(site, SYSTEM, "customers", sheet, filename="gc.csv", file_hash=file_hash(data), batch_size=1_000,
                               progress=lambda done, total: progress_seen.append(gc.isenabled()))
    assert report.imported == 2_500 and seen and all(not on for _, on in seen)
    assert progress_seen and all(progress_seen)  # between batches the collector runs
    assert gc.isenabled()

    saboteur.countdown = 1_500  # a batch that fails: the collector is back on all the same
    data = big_csv(2_500, "Gd")  # other phones: no duplicates of the first file
    with pytest.raises(Killed):
        import_in_batches(site, SYSTEM, "customers", read_sheet(data, replace_limits()), filename="gc2.csv", file_hash=file_hash(data), batch_size=1_000)
    assert gc.isenabled()


def test_the_cyclic_collector_is_off_while_a_batch_is_checked_and_written_and_on_again_after(site, saboteur, monkeypatch):
    """:func:`kernel.timers.collector_paused` around each batch: its objects are freed by reference counting when it ends,
    not walked by full collections meanwhile; the collector is on again after a batch, a kill inside one,
    and the last of nested pauses, and stays off if it was off."""
    import gc

    seen = []
    original = importjobs._commit_batch

    def watching(*args, **kwargs):
        seen.append(gc.isenabled())
        return original(*args, **kwargs)

    monkeypatch.setattr(importjobs, "_commit_batch", watching)
    data = big_csv(30)
    report = import_in_batches(site, SYSTEM, "customers", read_sheet(data), filename="x.csv", file_hash=file_hash(data), batch_size=10)
    assert report.imported == 30 and seen == [False, False, False] and gc.isenabled()
    saboteur.countdown = 5
    other = big_csv(30, prefix="Other")
    with pytest.raises(Killed):
        import_in_batches(site, SYSTEM, "customers", read_sheet(other), filename="y.csv", file_hash=file_hash(other), batch_size=10)
    assert gc.isenabled()
    writes = []
    original_write = Writer.write

    def write(self, conn, batch):
        writes.append(gc.isenabled())
        return original_write(self, conn, batch)

    monkeypatch.setattr(Writer, "write", write)
    small = big_csv(20, prefix="Small")
    assert import_rows(site, SYSTEM, "customers", read_sheet(small)).imported == 20  # a small file, one transaction: paused per batch too
    assert writes == [False] and gc.isenabled()
    with importjobs.collector_paused():
        with importjobs.collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with importjobs.collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
