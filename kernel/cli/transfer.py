"""``crm import``, ``crm backup`` and ``crm restore``: moving data in and out, through
:mod:`kernel.importing` and :mod:`kernel.backup`."""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from typing import Any

import click

from ..i18n import counted
from ..site import Site
from .group import CLI_ACTOR, UserError, pass_site
from .output import units

RECORDS, ROWS, TABLES = units("record", "records"), units("row", "rows"), units("table", "tables")

#: A file with more rows than this shows a progress bar on stderr.
PROGRESS_EVERY = 1000
REPORT_LINES = 50
#: What ``crm import`` reads from a local file (``import_max_rows``/``import_max_bytes`` bound the
#: web page's uploads); columns, cell size and compression ratio keep their limits.
CLI_MAX_ROWS = 5_000_000
CLI_MAX_BYTES = 2**30


def _mapping(pairs: tuple[str, ...]) -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for pair in pairs:
        header, sign, target = pair.rpartition("=")
        if not sign or not header.strip():
            raise UserError(f"--map {pair!r}: write it as HEADER=FIELD (or HEADER= to leave the column out)")
        found[header.strip()] = target.strip() or None
    return found


class _Progress:
    """A progress bar on stderr with rows, rows per second and the time left (``rich``), for files
    of more than :data:`PROGRESS_EVERY` rows; without a terminal, one line per thousand rows."""

    def __init__(self, label: str) -> None:
        self.label, self.shown, self.bar, self.task = label, 0, None, None

    def __enter__(self) -> _Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()

    def __call__(self, done: int, total: int) -> None:
        if total <= PROGRESS_EVERY:
            return
        if not sys.stderr.isatty():
            if done // PROGRESS_EVERY > self.shown or done == total:
                self.shown = done // PROGRESS_EVERY
                click.echo(f"{done:,} of {total:,} rows", err=True)
            return
        if self.bar is None:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self.bar = Progress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                TextColumn("{task.fields[rate]} rows/s"), TimeRemainingColumn(), console=Console(stderr=True),
            )
            self.bar.start()
            self.task = self.bar.add_task(self.label, total=total, rate="…")
        task = self.bar.tasks[0]
        speed = task.speed
        self.bar.update(self.task, completed=done, rate=f"{speed:,.0f}" if speed else "…")


def _read(file: str, limits: Any) -> tuple[Any, str]:
    """The file as a stream of rows (never read whole) and its SHA-256."""
    from .. import importing, importjobs

    try:
        size = os.path.getsize(file)
        if size > limits.bytes:
            raise UserError(f"{file}: the file is {size / 2**20:.1f} MB; at most {limits.bytes / 2**20:g} MB can be imported at once")
        digest = importjobs.hash_file(file)
        return importing.stream_sheet(file, limits), digest
    except OSError as exc:
        raise UserError(f"{file}: {exc.strerror or exc}") from None


def _pairs(args: tuple[str, ...]) -> list[tuple[str, str]]:
    if len(args) % 2:
        raise UserError("name an entity and a file for each import: crm import ENTITY FILE [ENTITY FILE ...]")
    return [(args[i], args[i + 1]) for i in range(0, len(args), 2)]


@click.command("import")
@click.argument("args", nargs=-1, metavar="ENTITY FILE [ENTITY FILE ...]")
@click.option("--map", "maps", multiple=True, metavar="HEADER=FIELD", help="Fill FIELD from column HEADER (repeatable); HEADER= leaves the column out.")
@click.option("--ignore-unknown", is_flag=True, help="Leave out columns that match no field instead of stopping.")
@click.option("--skip-invalid", is_flag=True, help="Import the valid rows and list the invalid ones (default: all or nothing).")
@click.option(
    "--on-duplicate", type=click.Choice(["skip", "create", "refuse", "update"]), default="skip", show_default=True,
    help="A row that looks like a stored record: leave it out, import it anyway, count it as invalid, or (with --key) update the record.",
)
@click.option("--key", default=None, metavar="FIELD", help="With --on-duplicate update: the field that finds the record to update (credit_code, email, phone…).")
@click.option("--policy", "policies", multiple=True, metavar="[FIELD=]theirs|ours|empty",
              help="With --on-duplicate update: take the file's value (theirs, the default), keep the stored one (ours), or fill empty fields only; per field as FIELD=POLICY.")
@click.option("--dry-run", is_flag=True, help="Check every row and report, without writing anything.")
@click.option("--batch", type=click.IntRange(min=1), default=None, metavar="N",
              help="Commit at most N rows at a time, with a checkpoint to resume from (automatic past 5,000 rows; fewer on SQLite to keep its write lock short).")
@click.option("--save-map", "save_map", default=None, metavar="NAME", help="Save this command's --map columns under NAME for the entity.")
@click.option("--use-map", "use_map", default=None, metavar="NAME", help="Start from the mapping saved under NAME (--map entries win).")
@click.option("--resume", is_flag=True, help="Go on with the last import that was killed or stopped (or the one --job names).")
@click.option("--job", "job_id", type=int, default=None, help="The import job --resume goes on with.")
@click.option("--undo", "undo_id", type=int, default=None, metavar="JOB", help="Move every record import job JOB created to the recycle bin.")
@pass_site
def import_(
    site: Site, args: tuple[str, ...], maps: tuple[str, ...], ignore_unknown: bool, skip_invalid: bool, on_duplicate: str, dry_run: bool,
    batch: int | None, resume: bool, job_id: int | None, undo_id: int | None, key: str | None, policies: tuple[str, ...],
    save_map: str | None, use_map: str | None,
) -> None:
    """Create ENTITY records from the rows of a .csv or .xlsx FILE (the first row names the columns).

    Several ENTITY FILE pairs are imported one after the other (the referenced entity first).
    Files past 5,000 rows (or with --batch) are committed in batches: a killed import goes on
    with 'crm import --resume', and 'crm import --undo JOB' removes what an import created.
    """
    from .. import importing, importjobs  # openpyxl and the UI's field labels: loaded only to import

    actor = replace(CLI_ACTOR, channel="import")
    if undo_id is not None:
        try:
            removed = importjobs.undo(site, actor, undo_id)
        except importing.ImportRefused as exc:
            raise UserError(str(exc)) from None
        click.echo(f"import job {undo_id} undone: {counted(removed, RECORDS)} moved to the recycle bin")
        return
    limits = importing.Limits.for_settings(site.settings)
    limits = replace(limits, rows=max(limits.rows, CLI_MAX_ROWS), bytes=max(limits.bytes, CLI_MAX_BYTES), seconds=max(limits.seconds, 3600.0))
    if resume:
        _resume(site, actor, job_id, limits)
        return
    if not args:
        raise UserError("name an entity and a file: crm import ENTITY FILE (or --resume, or --undo JOB)")
    upsert = _upsert(on_duplicate, key, policies)
    for entity, file in _pairs(args):
        mapping = _mapping(maps)
        try:
            if use_map:
                mapping = {**importjobs.saved_mapping(site, entity, use_map), **mapping}
            if save_map:
                importjobs.save_mapping(site, entity, save_map, mapping)
        except importing.ImportRefused as exc:
            raise UserError(str(exc)) from None
        _import_one(site, actor, entity, file, limits, mapping, ignore_unknown, skip_invalid, "skip" if upsert else on_duplicate, dry_run, batch, upsert)


def _upsert(on_duplicate: str, key: str | None, policies: tuple[str, ...]) -> Any:
    from ..importupserts import Upsert

    if on_duplicate != "update":
        if key or policies:
            raise UserError("--key and --policy go with --on-duplicate update")
        return None
    if not key:
        raise UserError("--on-duplicate update needs --key FIELD: the field that finds the record to update")
    default, fields = "theirs", {}
    for policy in policies:
        name, sign, value = policy.rpartition("=")
        if sign:
            fields[name.strip()] = value.strip()
        else:
            default = value.strip()
    return Upsert(key=key, policy=default, fields=fields)


def _import_one(
    site: Site, actor: Any, entity: str, file: str, limits: Any, mapping: dict[str, str | None], ignore_unknown: bool,
    skip_invalid: bool, on_duplicate: str, dry_run: bool, batch: int | None, upsert: Any = None,
) -> None:
    from .. import importing, importjobs

    try:
        sheet, digest = _read(file, limits)
        with _Progress(f"{entity} ← {os.path.basename(file)}") as progress:
            if not dry_run and (batch is not None or sheet.count > importjobs.BATCHED_ROWS):
                report = importjobs.import_in_batches(
                    site, actor, entity, sheet, filename=os.path.abspath(file), file_hash=digest,
                    batch_size=batch or importjobs.DEFAULT_BATCH, mapping=mapping, ignore_unknown=ignore_unknown,
                    skip_invalid=skip_invalid, on_duplicate=on_duplicate, progress=progress, upsert=upsert,
                )
            else:
                report = importing.import_rows(
                    site, actor, entity, sheet, mapping=mapping, ignore_unknown=ignore_unknown, skip_invalid=skip_invalid,
                    on_duplicate=on_duplicate, dry_run=dry_run, progress=progress, filename=os.path.abspath(file),
                    file_hash=digest, upsert=upsert,
                )
    except importing.UnknownColumns as exc:
        raise UserError(f"{file}: {exc}; map it with --map HEADER=FIELD or pass --ignore-unknown") from None
    except importing.ImportRefused as exc:
        raise UserError(f"{file}: {exc}") from None
    if sheet.source != "XLSX" and not sheet.source.endswith("UTF-8"):
        click.echo(f"read {file} as {sheet.source}", err=True)
    _show(report)


def _show(report: Any) -> None:
    stopped = report.stopped
    failed = report.refused or stopped or (report.invalid and not report.imported)
    for line in report.issue_lines(REPORT_LINES):
        click.echo(line, err=failed)
    if report.job is not None and report.imported:
        click.echo(f"import job {report.job}: 'crm import --undo {report.job}' removes its {counted(report.imported, RECORDS)}", err=True)
    if stopped:
        raise UserError(
            f"import job {report.job} stopped at invalid rows after {counted(report.imported, RECORDS)}; fix the file and import the rest, "
            f"pass --skip-invalid, or 'crm import --undo {report.job}'"
        )
    if failed:
        raise UserError(report.summary())
    click.echo(report.summary())


def _resume(site: Site, actor: Any, job_id: int | None, limits: Any) -> None:
    from .. import importing, importjobs
    from ..errors import CRMError

    try:
        job = importjobs.load(site, job_id) if job_id is not None else importjobs.latest_unfinished(site)
    except CRMError as exc:
        raise UserError(str(exc)) from None
    if job is None:
        raise UserError("no import was killed or stopped: there is nothing to resume")
    try:
        sheet, digest = _read(job.filename, limits)
        click.echo(f"resuming import job {job.id} ({job.entity} from {job.filename}) after row {job.last_row}", err=True)
        with _Progress(f"{job.entity} ← {os.path.basename(job.filename)}") as progress:
            report = importjobs.resume(site, actor, job, digest, sheet, progress=progress)
    except importing.ImportRefused as exc:
        raise UserError(str(exc)) from None
    _show(report)


def _admins(site: Site) -> list[str]:
    """The active admins' emails: a restore replaces every user, so the operator should see who may now do everything."""
    import sqlalchemy as sa

    from ..models import User

    with site.engine.connect() as conn:
        return list(conn.scalars(sa.select(User.email).where(User.role == "admin", User.active.is_(True)).order_by(User.email)))


@click.command()
@click.argument("file", type=click.Path(dir_okay=False))
@pass_site
def backup(site: Site, file: str) -> None:
    """Write every table of the kernel and the plugins to FILE (a zip archive)."""
    from ..backup import write_backup

    summary = write_backup(site, file)
    click.echo(f"backed up {counted(summary.rows, ROWS)} from {counted(summary.tables, TABLES)} to {file}")


@click.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--yes", is_flag=True, help="Replace everything when the database already holds records.")
@pass_site
def restore(site: Site, file: str, yes: bool) -> None:
    """Replace the database's contents with the backup FILE (made by 'crm backup')."""
    from ..backup import restore_backup

    summary = restore_backup(site, file, replace=yes)
    click.echo(f"restored {counted(summary.rows, ROWS)} into {counted(summary.tables, TABLES)} from {file}")
    click.echo(f"admins now: {', '.join(_admins(site)) or 'none'} (check that you know each of them)")

