"""Helpers for the kernel tests: ad-hoc plugin modules and child processes.

The multi-process tests start children with the 'spawn' method. A child
imports this module afresh, builds a :class:`~kernel.Site` of its own on the
test's database and talks to the test only through queues: nothing is shared
but the database, exactly as between two ``crm`` processes.
"""

from __future__ import annotations

import importlib
import multiprocessing
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kernel import Actor, FrozenClock, Settings, Site, ValidationError
from kernel.jobs import run_due_jobs
from kernel.testing import START, plugin_module  # noqa: F401 - kernel tests import it from here

SPAWN = multiprocessing.get_context("spawn")
PATIENCE = 60.0  # seconds one side waits for the other before calling the test failed
SEEN_WITHIN = 5.0  # seconds a child may take to see a change another process made


# -- the parent's side ------------------------------------------------------------------


@dataclass(frozen=True)
class ChildFailure:
    """Sent by a child instead of an answer when it raised."""

    traceback: str


@contextmanager
def child_process(target: Callable[..., None], *args: Any) -> Iterator[multiprocessing.process.BaseProcess]:
    """Run ``target(*args)`` in a spawned process; wait for it on exit, kill it if the test failed."""
    process = SPAWN.Process(target=target, args=args, daemon=True)
    process.start()
    try:
        yield process
    except BaseException:
        process.kill()
        process.join()
        raise
    process.join(PATIENCE)
    if process.is_alive():
        process.kill()
        process.join()


def receive(replies: Any) -> Any:
    """The next reply from a child; a child's exception fails the test with its traceback."""
    reply = replies.get(timeout=PATIENCE)
    if isinstance(reply, ChildFailure):
        raise AssertionError(f"a child process failed:\n{reply.traceback}")
    return reply


# -- the child's side -------------------------------------------------------------------


def child_site(database_url: str, plugin_modules: Sequence[str], refresh_seconds: float = 0.0) -> Site:
    """A site of this process's own on the parent's (already migrated) database."""
    modules = [importlib.import_module(name) for name in plugin_modules]
    settings = Settings(database_url=database_url, plugins=tuple(m.NAME for m in modules), refresh_seconds=refresh_seconds)
    return Site(settings, clock=FrozenClock(START), extra_plugins=modules)


@contextmanager
def reporting_errors(replies: Any) -> Iterator[None]:
    try:
        yield
    except BaseException:
        replies.put(ChildFailure(traceback.format_exc()))
        raise


def race_for_slots(database_url: str, plugin_modules: Sequence[str], nows: Sequence[datetime], barrier: Any, replies: Any) -> None:
    """For each ``now``: wait for the other racer, run due jobs, reply ``(now, {job: status})``."""
    with reporting_errors(replies):
        site = child_site(database_url, plugin_modules)
        try:
            site.view  # noqa: B018 - load plugins before the race, so both start level
            for now in nows:
                barrier.wait(PATIENCE)
                outcomes = run_due_jobs(site, now)
                replies.put((now, {outcome.job: outcome.status for outcome in outcomes}))
        finally:
            site.close()


def notes_visible(site: Site) -> bool:
    return site.view.entity("notes") is not None


def mood_enforced(site: Site) -> bool:
    """Does the write path accept a note with mood "happy" and refuse one with mood "furious"?"""
    actor = Actor.system()
    try:
        site.records.create(actor, "notes", {"title": "furious", "custom": {"mood": "furious"}})
    except ValidationError as exc:
        refused = exc.details[0]["loc"] == ["custom", "mood"]
    else:
        refused = False
    try:
        site.records.create(actor, "notes", {"title": "happy", "custom": {"mood": "happy"}})
    except ValidationError:
        return False
    return refused


QUESTIONS: dict[str, Callable[[Site], Any]] = {"notes_visible": notes_visible, "mood_enforced": mood_enforced}


def poll(question: Callable[[Site], Any], site: Site, expected: Any) -> Any:
    """Ask ``question`` until it answers ``expected`` or :data:`SEEN_WITHIN` passes; the last answer."""
    deadline = time.monotonic() + SEEN_WITHIN
    while True:
        answer = question(site)
        if answer == expected or time.monotonic() >= deadline:
            return answer


def answer_questions(database_url: str, plugin_modules: Sequence[str], refresh_seconds: float, questions: Any, replies: Any) -> None:
    """Answer ``(question, expected)`` requests with :func:`poll` until a ``None`` request."""
    with reporting_errors(replies):
        site = child_site(database_url, plugin_modules, refresh_seconds)
        try:
            for name, expected in iter(lambda: questions.get(timeout=PATIENCE), None):
                replies.put(poll(QUESTIONS[name], site, expected))
        finally:
            site.close()
