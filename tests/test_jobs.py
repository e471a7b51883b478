"""Periodic jobs: time-based rules driven by ``now``, one run per slot, failures, workers."""

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from kernel import Job
from kernel.jobs import recent_runs, run_due_jobs, schedule
from kernel.pluginstate import disable_plugin, enable_plugin
from kernel.testing import START
from tests import ticker
from tests.example import plugin as notes_plugin
from tests.example.plugin import Note
from tests.helpers import SPAWN, child_process, plugin_module, race_for_slots, receive

ARCHIVE = "notes.archive_stale"
DAY = timedelta(days=1)


def ours(items):
    """Outcomes or runs of the plugins' jobs: the kernel's own (``core.purge_trash``) runs alongside."""
    return [i for i in items if not (i.job if hasattr(i, "job") else i["job"]).startswith("core.")]


def statuses(outcomes):
    return [(outcome.job, outcome.status) for outcome in ours(outcomes)]


def note_status(site, note_id):
    """Read straight from the table: works while the plugin is disabled, too."""
    with site.engine.connect() as conn:
        return conn.scalar(sa.select(Note.__table__.c.status).where(Note.__table__.c.id == note_id))


def test_job_archives_a_note_only_once_it_is_stale(site, admin):
    note = site.records.create(admin, "notes", {"title": "call back"})

    early = run_due_jobs(site, START + timedelta(days=10))
    assert [(o.job, o.status, o.result) for o in ours(early)] == [(ARCHIVE, "done", 0)]
    assert site.records.get(admin, "notes", note["id"])["status"] == "open"

    late = run_due_jobs(site, START + timedelta(days=31))
    assert [(o.job, o.status, o.result) for o in ours(late)] == [(ARCHIVE, "done", 1)]
    assert site.records.get(admin, "notes", note["id"])["status"] == "archived"
    latest = site.records.history(admin, "notes", note["id"])[0]
    assert (latest["action"], latest["channel"]) == ("update", "job")
    assert latest["changes"]["status"] == ["open", "archived"]


def test_without_now_jobs_run_as_of_the_site_clock(site, admin, clock):
    note = site.records.create(admin, "notes", {"title": "call back"})
    clock.advance(days=31)
    assert statuses(run_due_jobs(site)) == [(ARCHIVE, "done")]
    assert site.records.get(admin, "notes", note["id"])["status"] == "archived"


def test_a_slot_runs_once_and_the_next_slot_runs_again(site):
    first = run_due_jobs(site, START)
    assert statuses(first) == [(ARCHIVE, "done")]
    assert statuses(run_due_jobs(site, START)) == [(ARCHIVE, "skipped")]
    assert statuses(run_due_jobs(site, START + timedelta(hours=12))) == [(ARCHIVE, "skipped")]

    next_day = run_due_jobs(site, START + DAY)
    assert statuses(next_day) == [(ARCHIVE, "done")]
    assert ours(next_day)[0].slot - ours(first)[0].slot == DAY
    assert [run["status"] for run in ours(recent_runs(site))] == ["done", "done"]


def test_slots_are_cut_from_the_epoch():
    job = Job("x.y", timedelta(minutes=15), print)
    assert job.slot(START + timedelta(minutes=14, seconds=59)) == START
    assert job.slot(START + timedelta(minutes=15)) == START + timedelta(minutes=15)
    with pytest.raises(ValueError, match="positive"):
        Job("x.never", timedelta(0), print)


def flaky_plugin():
    """``flaky.send`` fails on its first run only; ``flaky.count`` comes after it and always works."""
    calls = []

    def send(site, now):
        calls.append(now)
        if len(calls) == 1:
            raise RuntimeError("mail server unreachable")
        return "sent"

    def register_jobs():
        return [Job("flaky.send", DAY, send), Job("flaky.count", DAY, lambda site, now: "counted")]

    return plugin_module("flaky", register_jobs=register_jobs)


def test_a_failing_job_is_recorded_does_not_stop_the_others_and_runs_next_slot(make_site):
    site = make_site(notes_plugin, flaky_plugin())

    first = {o.job: o for o in ours(run_due_jobs(site, START))}
    assert {name: o.status for name, o in first.items()} == {"flaky.send": "failed", "flaky.count": "done", ARCHIVE: "done"}
    assert first["flaky.send"].error == "mail server unreachable"
    runs = {run["job"]: run for run in recent_runs(site)}
    assert runs["flaky.send"]["status"] == "failed"
    assert runs["flaky.send"]["error"] == "RuntimeError: mail server unreachable"
    assert runs["flaky.send"]["finished_at"] == START
    assert runs["flaky.count"]["error"] is None

    assert {o.job: o.status for o in run_due_jobs(site, START)}["flaky.send"] == "skipped"
    retried = {o.job: o for o in run_due_jobs(site, START + DAY)}["flaky.send"]
    assert (retried.status, retried.result) == ("done", "sent")


def test_jobs_of_a_disabled_plugin_do_not_run(site, admin):
    note = site.records.create(admin, "notes", {"title": "call back"})
    disable_plugin(site, admin, "notes")

    assert statuses(run_due_jobs(site, START + timedelta(days=31))) == []
    assert note_status(site, note["id"]) == "open"
    assert ours(recent_runs(site)) == []

    enable_plugin(site, admin, "notes")
    assert statuses(run_due_jobs(site, START + timedelta(days=31))) == [(ARCHIVE, "done")]
    assert note_status(site, note["id"]) == "archived"


def test_each_slot_runs_once_across_two_worker_processes(make_site, database_url, admin):
    """Two processes, released together for each of five slots: every slot runs exactly once."""
    site = make_site(notes_plugin, ticker)
    nows = [START + DAY * n for n in range(5)]
    barrier, replies = SPAWN.Barrier(2), SPAWN.Queue()
    modules = [notes_plugin.__name__, ticker.__name__]
    with child_process(race_for_slots, database_url, modules, nows, barrier, replies) as first:
        with child_process(race_for_slots, database_url, modules, nows, barrier, replies) as second:
            reports = [receive(replies) for _ in range(2 * len(nows))]
    assert (first.exitcode, second.exitcode) == (0, 0)

    for now in nows:
        passes = [report for at, report in reports if at == now]
        assert len(passes) == 2
        for job in (ticker.JOB, ARCHIVE):
            assert sorted(report[job] for report in passes) == ["done", "skipped"], (now, job)
    titles = [n["title"] for n in site.records.list(admin, "notes", limit=100).items]
    assert sorted(titles) == sorted(ticker.tick_title(now) for now in nows)
    runs = ours(recent_runs(site, limit=100))
    assert len(runs) == 2 * len(nows)
    assert {run["status"] for run in runs} == {"done"}


def test_schedule_asks_for_due_jobs_on_an_interval(make_site):
    ran = threading.Event()
    seen = []

    def signal(site, now):
        seen.append(now)
        ran.set()

    plugin = plugin_module("signal", register_jobs=lambda: [Job("signal.ran", DAY, signal)])
    site = make_site(plugin, jobs_interval_seconds=3600)
    scheduler = BackgroundScheduler(timezone="UTC")
    schedule(scheduler, site)
    registered = scheduler.get_job("crm.due_jobs")
    assert isinstance(registered.trigger, IntervalTrigger)
    assert registered.trigger.interval == timedelta(hours=1)

    scheduler.start()
    try:
        assert ran.wait(timeout=30), "the scheduler never ran the due jobs"
    finally:
        scheduler.shutdown(wait=True)
    assert seen == [START]
    assert [(run["job"], run["status"]) for run in ours(recent_runs(site))] == [("signal.ran", "done")]
