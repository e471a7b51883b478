"""``crm import``, ``crm backup`` and ``crm restore``: moving data in and out, through
:mod:`kernel.importing` and :mod:`kernel.backup`."""

from __future__ import annotations

import os
from dataclasses import replace

import click

from ..site import Site
from .group import CLI_ACTOR, UserError, pass_site

#: A file with more rows than this reports its progress on stderr.
PROGRESS_EVERY = 1000
REPORT_LINES = 50


def _mapping(pairs: tuple[str, ...]) -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for pair in pairs:
        header, sign, target = pair.rpartition("=")
        if not sign or not header.strip():
            raise UserError(f"--map {pair!r}: write it as HEADER=FIELD (or HEADER= to leave the column out)")
        found[header.strip()] = target.strip() or None
    return found


class _Progress:
    """Prints one line each time another thousand rows have been written (for large files)."""

    def __init__(self) -> None:
        self.shown = 0

    def __call__(self, done: int, total: int) -> None:
        if total <= PROGRESS_EVERY:
            return
        if done // PROGRESS_EVERY > self.shown or done == total:
            self.shown = done // PROGRESS_EVERY
            click.echo(f"{done:,} of {total:,} rows", err=True)


@click.command("import")
@click.argument("entity")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--map", "maps", multiple=True, metavar="HEADER=FIELD", help="Fill FIELD from column HEADER (repeatable); HEADER= leaves the column out.")
@click.option("--ignore-unknown", is_flag=True, help="Leave out columns that match no field instead of stopping.")
@click.option("--skip-invalid", is_flag=True, help="Import the valid rows and list the invalid ones (default: all or nothing).")
@click.option(
    "--on-duplicate", type=click.Choice(["skip", "create", "refuse"]), default="skip", show_default=True,
    help="A row that looks like a stored record: leave it out, import it anyway, or count it as invalid.",
)
@click.option("--dry-run", is_flag=True, help="Check every row and report, without writing anything.")
@pass_site
def import_(site: Site, entity: str, file: str, maps: tuple[str, ...], ignore_unknown: bool, skip_invalid: bool, on_duplicate: str, dry_run: bool) -> None:
    """Create ENTITY records from the rows of a .csv or .xlsx FILE (the first row names the columns)."""
    from .. import importing  # openpyxl and the UI's field labels: loaded only to import

    limits = importing.Limits.for_settings(site.settings)
    try:
        size = os.path.getsize(file)
        if size > limits.bytes:
            raise UserError(f"{file}: the file is {size / 2**20:.1f} MB; at most {limits.bytes / 2**20:g} MB can be imported at once")
        with open(file, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise UserError(f"{file}: {exc.strerror or exc}") from None
    try:
        sheet = importing.read_sheet(data, limits)
        report = importing.import_rows(
            site, replace(CLI_ACTOR, channel="import"), entity, sheet, mapping=_mapping(maps), ignore_unknown=ignore_unknown,
            skip_invalid=skip_invalid, on_duplicate=on_duplicate, dry_run=dry_run, progress=_Progress(),
        )
    except importing.UnknownColumns as exc:
        raise UserError(f"{file}: {exc}; map it with --map HEADER=FIELD or pass --ignore-unknown") from None
    except importing.ImportRefused as exc:
        raise UserError(f"{file}: {exc}") from None
    if sheet.source != "XLSX" and not sheet.source.endswith("UTF-8"):
        click.echo(f"read {file} as {sheet.source}", err=True)
    failed = report.refused or (report.invalid and not report.imported)
    for line in report.issue_lines(REPORT_LINES):
        click.echo(line, err=failed)
    if failed:
        raise UserError(report.summary())
    click.echo(report.summary())


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
    click.echo(f"backed up {summary.rows} rows from {summary.tables} tables to {file}")


@click.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--yes", is_flag=True, help="Replace everything when the database already holds records.")
@pass_site
def restore(site: Site, file: str, yes: bool) -> None:
    """Replace the database's contents with the backup FILE (made by 'crm backup')."""
    from ..backup import restore_backup

    summary = restore_backup(site, file, replace=yes)
    click.echo(f"restored {summary.rows} rows into {summary.tables} tables from {file}")
    click.echo(f"admins now: {', '.join(_admins(site)) or 'none'} (check that you know each of them)")

