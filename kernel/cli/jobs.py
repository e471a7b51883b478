"""``crm jobs``: run due jobs once, as of any time, and list them."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import click

from ..clock import FrozenClock
from ..errors import ValidationError
from ..i18n import counted
from ..parsing import parse_moment
from ..jobs import run_due_jobs
from ..timers import fire_due
from ..site import Site
from .group import UserError, pass_site
from .output import duration, echo_table, units


class Moment(click.ParamType):
    """An ISO-8601 date-time such as ``2026-03-01T00:00:00Z``; without a zone it is taken as UTC."""

    name = "ISO-8601"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> datetime:
        try:
            return parse_moment(value, [], assume=timezone.utc)
        except ValidationError as exc:
            self.fail(f"{value!r}: {exc.details[0]['msg']}", param, ctx)


@click.group()
def jobs() -> None:
    """Periodic jobs declared by the enabled plugins."""


@jobs.command("run")
@click.option("--now", "as_of", type=Moment(), help="Run as of this time instead of the wall clock.")
@click.option("--job", "only", metavar="NAME", help="Run only this job.")
@pass_site
def jobs_run(site: Site, as_of: datetime | None, only: str | None) -> None:
    """Run every job whose current slot has not run yet, once, then fire the due per-record
    timers; exit 1 if any fails.

    With --now the site's clock is frozen at that time, so everything the jobs
    write (deadlines, audit entries) is dated as of it too.
    """
    if as_of is not None:
        site.clock = FrozenClock(as_of)
    enabled = site.view.jobs
    if only is not None and only not in enabled:
        raise UserError(f"--job: no enabled job named {only!r} (enabled: {', '.join(enabled) or 'none'})")
    outcomes = run_due_jobs(site, as_of, only=only)
    rows = [(o.job, o.slot.isoformat(), o.status, o.error if o.status == "failed" else o.result) for o in outcomes]
    failed = [o.job for o in outcomes if o.status == "failed"]
    if only is None and site.view.timers:  # then the per-record timers due as of the same time
        fired = fire_due(site, as_of)
        status = "failed" if fired.failed else "done"
        rows.append(("timers", (as_of or site.clock.now()).isoformat(), status, f"{fired.fired:,} fired in {counted(fired.batches, units('batch', 'batches'))}, {fired.failed} failed"))
        if fired.failed:
            failed.append("timers")
    if not rows:
        click.echo("no enabled jobs")
        return
    echo_table(("job", "slot", "status", "detail"), rows)
    if failed:
        raise UserError(f"{len(failed):,} of {counted(len(rows), units('job', 'jobs'))} failed: {', '.join(failed)}")


@jobs.command("list")
@pass_site
def jobs_list(site: Site) -> None:
    """Show the enabled jobs and how often each runs."""
    echo_table(
        ("job", "every", "description"),
        ((job.name, duration(job.every), job.label.get("en")) for job in site.view.jobs.values()),
    )
