"""Ticker: a test plugin whose job leaves one note per run, so tests can count runs.

It is a real module (not built inside a test) so that child processes started
with the 'spawn' method can import it by name.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from kernel import Actor, Job, hookimpl

NAME = "ticker"
REQUIRES: tuple[str, ...] = ("notes",)
JOB = "ticker.tick"


def tick_title(now: datetime) -> str:
    return f"tick {now.isoformat()}"


def leave_a_note(site: Any, now: datetime) -> None:
    site.records.create(Actor.system("job"), "notes", {"title": tick_title(now)})


@hookimpl
def register_jobs() -> list[Job]:
    return [Job(JOB, timedelta(days=1), leave_a_note)]
