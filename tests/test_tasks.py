"""The background task queue: enqueue in a transaction, claim with a lease, retries, cancel, retention."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
import sqlalchemy as sa

from kernel import Actor, Conflict, NotFound, ValidationError, enqueue_task
from kernel import tasks
from kernel.jobs import run_due_jobs
from kernel.testing import START, run_due_tasks
from tests import taskwork
from tests.taskwork import BACKOFF, LEASE, PATIENCE, Gate

TASKS = tasks.TASKS


@pytest.fixture(autouse=True)
def fresh_work():
    taskwork.reset()
    yield
    for gate in list(taskwork.GATES.values()):  # never leave a worker thread waiting
        gate.release.set()


@pytest.fixture
def site(make_site):
    return make_site(taskwork.plugin)


@pytest.fixture
def owner(site):
    user = site.records.create(Actor.system("cli"), "users", {"email": "rep@example.com", "password": "s3cret-pass", "role": "sales_rep"})
    return Actor(user_id=user["id"], label=user["email"], role="sales_rep")


def count_tasks(site) -> int:
    with site.engine.connect() as conn:
        return conn.scalar(sa.select(sa.func.count()).select_from(TASKS))


def row(site, task_id):
    with site.engine.connect() as conn:
        return conn.execute(sa.select(TASKS).where(TASKS.c.id == task_id)).one()


def start_worker(site, name: str) -> tuple[threading.Thread, list]:
    outcomes: list = []
    thread = threading.Thread(target=lambda: outcomes.extend(run_due_tasks(site, worker=name)), name=name)
    thread.start()
    return thread, outcomes


# -- enqueueing -------------------------------------------------------------------------------


def test_a_task_enqueued_in_a_rolled_back_transaction_does_not_exist(site, owner):
    with pytest.raises(RuntimeError):
        with site.write() as conn:
            enqueue_task(site, "work.count", {"steps": 1}, actor=owner, conn=conn)
            assert conn.scalar(sa.select(sa.func.count()).select_from(TASKS)) == 1
            raise RuntimeError("the write failed")
    assert count_tasks(site) == 0
    assert run_due_tasks(site) == []

    with site.write() as conn:
        kept = enqueue_task(site, "work.count", {"steps": 1}, actor=owner, conn=conn)
    assert [(o.task_id, o.status) for o in run_due_tasks(site)] == [(kept, "done")]


def test_unknown_kinds_and_payloads_that_are_not_json_are_refused(site, owner):
    with pytest.raises(ValidationError) as unknown:
        enqueue_task(site, "work.nope", {}, actor=owner)
    assert unknown.value.details == [{"loc": ["kind"], "msg": "unknown task kind 'work.nope'"}]
    with pytest.raises(ValidationError) as not_json:
        enqueue_task(site, "work.count", {"when": object()}, actor=owner)
    assert not_json.value.details[0]["loc"] == ["payload"]
    with pytest.raises(ValidationError) as too_big:
        enqueue_task(site, "work.count", {"blob": "x" * (tasks.MAX_PAYLOAD_BYTES + 1)}, actor=owner)
    assert too_big.value.details[0]["loc"] == ["payload"]
    with pytest.raises(ValidationError):
        enqueue_task(site, "work.count", {}, actor=owner, max_attempts=0)
    assert count_tasks(site) == 0


def test_a_task_runs_as_its_owner_reports_progress_and_keeps_its_result(site, owner, clock):
    task_id = enqueue_task(site, "work.count", {"steps": 4}, actor=owner)
    queued = tasks.get(site, owner, task_id)
    assert (queued["status"], queued["attempts"], queued["label"]["zh_CN"]) == ("queued", 0, "计数")

    [outcome] = run_due_tasks(site)
    assert (outcome.status, outcome.attempt) == ("done", 1)
    done = tasks.get(site, owner, task_id)
    assert done["status"] == "done"
    assert done["progress"] == {"done": 4, "total": 4, "percent": 100, "message": "step 4 of 4"}
    assert done["result"] == {"steps": 4, "attempt": 1, "actor": "rep@example.com", "role": "sales_rep"}
    assert done["finished_at"] == clock.now().isoformat()


def test_a_delayed_task_waits_for_its_time(site, owner, clock):
    task_id = enqueue_task(site, "work.count", {"steps": 1}, actor=owner, run_at=START + timedelta(hours=1))
    assert run_due_tasks(site) == []
    clock.advance(hours=1)
    assert [o.task_id for o in run_due_tasks(site)] == [task_id]


# -- claiming ---------------------------------------------------------------------------------


def test_two_workers_claiming_at_once_run_each_task_exactly_once(site, make_site, owner):
    """Two sites (two engines, separate connections) drain one queue from two threads at once."""
    other = make_site(taskwork.plugin, migrate=False)
    ids = [enqueue_task(site, "work.count", {"steps": 2}, actor=owner) for _ in range(40)]
    go = threading.Barrier(2)
    results: dict[str, list] = {}

    def work(worker_site, name):
        go.wait(PATIENCE)
        results[name] = run_due_tasks(worker_site, worker=name)

    threads = [threading.Thread(target=work, args=(s, n), name=n) for s, n in ((site, "w1"), (other, "w2"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(PATIENCE)
    outcomes = results["w1"] + results["w2"]
    assert sorted(o.task_id for o in outcomes) == ids
    assert {o.status for o in outcomes} == {"done"}
    assert Counter(task_id for task_id, _, _ in taskwork.RUNS) == {task_id: 1 for task_id in ids}
    with site.engine.connect() as conn:
        states = conn.execute(sa.select(TASKS.c.status, TASKS.c.attempts, TASKS.c.worker)).all()
    assert {(s.status, s.attempts) for s in states} == {("done", 1)}
    assert {s.worker for s in states} <= {"w1", "w2"}


def test_a_worker_killed_mid_task_loses_it_to_another_once_its_lease_expires(site, make_site, owner, clock):
    task_id = enqueue_task(site, "work.count", {"steps": 3, "gate": "g"}, actor=owner)
    gate = Gate("g", attempts=(1,))
    first, first_outcomes = start_worker(site, "doomed")
    assert gate.started.wait(PATIENCE)
    running = tasks.get(site, owner, task_id)
    assert (running["status"], running["attempts"], running["progress"]["done"]) == ("running", 1, 1)

    other = make_site(taskwork.plugin, migrate=False)
    clock.advance(LEASE - timedelta(seconds=1))
    assert run_due_tasks(other, worker="rescuer") == []  # the lease still holds: nobody takes it

    clock.advance(seconds=2)  # the first worker has not reported within its lease: taken as dead
    [rescued] = run_due_tasks(other, worker="rescuer")
    assert (rescued.task_id, rescued.status, rescued.attempt) == (task_id, "done", 2)
    gate.release.set()  # the "dead" worker wakes up: its next progress call finds the task gone
    first.join(PATIENCE)
    assert [(o.status, o.attempt) for o in first_outcomes] == [("lost", 1)]

    final = row(site, task_id)
    assert (final.status, final.attempts, final.worker) == ("done", 2, "rescuer")
    assert final.result["attempt"] == 2
    assert [(t, a) for t, a, _ in taskwork.RUNS] == [(task_id, 1), (task_id, 2)]


def test_a_task_whose_last_attempt_was_abandoned_fails_with_the_reason(site, owner, clock):
    task_id = enqueue_task(site, "work.once", {"steps": 1}, actor=owner)
    claimed, _ = tasks.claim(site, "doomed")  # claimed, then the worker dies without a word
    assert claimed.id == task_id
    clock.advance(LEASE + timedelta(seconds=1))
    assert run_due_tasks(site) == []
    failed = tasks.get(site, owner, task_id)
    assert (failed["status"], failed["attempts"]) == ("failed", 1)
    assert "lease expired" in failed["error"]
    assert taskwork.RUNS == []


def test_a_cancelled_task_whose_worker_died_ends_cancelled_not_retried(site, owner, clock):
    task_id = enqueue_task(site, "work.count", {"steps": 1}, actor=owner)
    tasks.claim(site, "doomed")
    assert tasks.cancel(site, owner, task_id)["status"] == "running"
    clock.advance(LEASE + timedelta(seconds=1))
    assert run_due_tasks(site) == []
    assert (row(site, task_id).status, row(site, task_id).attempts) == ("cancelled", 1)


def test_failures_are_retried_with_growing_backoff_then_fail_with_the_error(site, owner, clock):
    task_id = enqueue_task(site, "work.fail", {}, actor=owner)
    assert [(o.status, o.attempt, o.error) for o in run_due_tasks(site)] == [("retry", 1, "ValueError: boom 1")]
    retry = row(site, task_id)
    assert (retry.status, retry.run_at, retry.error) == ("queued", START + BACKOFF, "ValueError: boom 1")

    clock.advance(BACKOFF - timedelta(seconds=1))
    assert run_due_tasks(site) == []
    clock.advance(seconds=1)
    assert [(o.status, o.attempt) for o in run_due_tasks(site)] == [("retry", 2)]
    assert row(site, task_id).run_at == clock.now() + 2 * BACKOFF

    clock.advance(2 * BACKOFF)
    assert [(o.status, o.attempt) for o in run_due_tasks(site)] == [("failed", 3)]
    failed = tasks.get(site, owner, task_id)
    assert (failed["status"], failed["attempts"], failed["error"]) == ("failed", 3, "ValueError: boom 3")
    clock.advance(days=1)
    assert run_due_tasks(site) == []


def test_queued_tasks_of_a_disabled_plugin_wait(make_site):
    site = make_site(taskwork.plugin)
    task_id = enqueue_task(site, "work.count", {"steps": 1}, actor=Actor.system("cli"))
    bare = make_site(migrate=False)  # a process where the plugin is not installed: the kind is unknown
    assert run_due_tasks(bare) == []
    assert row(site, task_id).status == "queued"
    assert [o.task_id for o in run_due_tasks(site)] == [task_id]


def test_the_app_run_by_crm_serve_claims_queued_tasks_in_process(make_site):
    from starlette.testclient import TestClient

    from kernel.web.app import create_app

    site = make_site(taskwork.plugin, tasks_interval_seconds=0.05)
    task_id = enqueue_task(site, "work.count", {"steps": 2, "gate": "g"}, actor=Actor.system("cli"))
    gate = Gate("g")
    with TestClient(create_app(site=site, run_jobs=True)):
        assert gate.started.wait(PATIENCE), "crm serve's scheduler never claimed the task"
        gate.release.set()
        assert gate.finished.wait(PATIENCE)
    assert row(site, task_id).worker is not None
    assert [(t, a) for t, a, _ in taskwork.RUNS] == [(task_id, 1)]


# -- cancelling -------------------------------------------------------------------------------


def test_cancelling_a_queued_task_stops_it_before_it_runs(site, owner):
    task_id = enqueue_task(site, "work.count", {"steps": 1}, actor=owner)
    assert tasks.cancel(site, owner, task_id)["status"] == "cancelled"
    assert run_due_tasks(site) == []
    assert taskwork.RUNS == []
    with pytest.raises(Conflict):
        tasks.cancel(site, owner, task_id)


def test_cancelling_a_running_task_stops_it_at_its_next_progress_call(site, owner):
    task_id = enqueue_task(site, "work.count", {"steps": 5, "gate": "g"}, actor=owner)
    gate = Gate("g")
    worker, outcomes = start_worker(site, "w")
    assert gate.started.wait(PATIENCE)
    asked = tasks.cancel(site, owner, task_id)
    assert (asked["status"], asked["cancel_requested"]) == ("running", True)
    gate.release.set()
    worker.join(PATIENCE)
    assert [o.status for o in outcomes] == ["cancelled"]
    stopped = tasks.get(site, owner, task_id)
    # the call that learnt of the cancellation still recorded its step; the three after it never ran
    assert (stopped["status"], stopped["progress"]["done"], stopped["result"]) == ("cancelled", 2, None)


def test_only_the_owner_or_an_admin_sees_and_cancels_a_task(site, owner):
    task_id = enqueue_task(site, "work.count", {"steps": 1}, actor=owner)
    stranger = Actor(user_id=owner.user_id + 100, label="x@example.com", role="sales_rep")
    with pytest.raises(NotFound):
        tasks.get(site, stranger, task_id)
    with pytest.raises(NotFound):
        tasks.cancel(site, stranger, task_id)
    assert tasks.list_tasks(site, stranger)["total"] == 0
    admin = Actor(user_id=None, label="admin", role="admin")
    assert [t["id"] for t in tasks.list_tasks(site, admin)["items"]] == [task_id]
    assert tasks.list_tasks(site, owner, status="queued")["total"] == 1
    assert tasks.list_tasks(site, owner, status="done")["total"] == 0


# -- retention --------------------------------------------------------------------------------


def test_finished_tasks_are_purged_by_a_job_after_the_retention_days(make_site, clock):
    site = make_site(taskwork.plugin, task_retention_days=3)
    system = Actor.system("cli")
    done = enqueue_task(site, "work.count", {"steps": 1}, actor=system)
    run_due_tasks(site)
    waiting = enqueue_task(site, "work.count", {"steps": 1}, actor=system, run_at=START + timedelta(days=30))

    def purge(now):
        [outcome] = run_due_jobs(site, now, only="kernel.purge_tasks")
        assert outcome.status == "done"
        return outcome.result

    assert purge(START + timedelta(days=3)) == 0  # exactly 3 days: still kept
    assert row(site, done).status == "done"
    assert purge(START + timedelta(days=3, hours=1)) == 1
    with site.engine.connect() as conn:
        assert conn.scalars(sa.select(TASKS.c.id)).all() == [waiting]
