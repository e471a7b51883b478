"""``crm export``: an entity's records to a CSV or XLSX file, through :mod:`kernel.exporting`."""

from __future__ import annotations

import os
from pathlib import Path

import click

from ..site import Site
from .group import CLI_ACTOR, UserError, pass_site


def _filters(where: tuple[str, ...]) -> dict[str, str]:
    found: dict[str, str] = {}
    for condition in where:
        name, sign, value = condition.partition("=")
        if not sign or not name.strip():
            raise UserError(f"--where {condition!r}: write it as FIELD=VALUE (or FIELD__gte=VALUE)")
        found[name.strip()] = value
    return found


@click.command("export")
@click.argument("entity")
@click.option("-o", "--output", "output", required=True, type=click.Path(dir_okay=False), help="The file to write: NAME.csv or NAME.xlsx.")
@click.option("--where", multiple=True, metavar="FIELD=VALUE", help="Only matching records (repeatable; FIELD__gte=, __lte= for ranges; custom fields by name).")
@click.option("--sort", default=None, metavar="FIELD", help="Order of the rows: FIELD or -FIELD (default: by id).")
@click.option("--labels", is_flag=True, help="Headers are the fields' labels in the default language instead of their names.")
@pass_site
def export(site: Site, entity: str, output: str, where: tuple[str, ...], sort: str | None, labels: bool) -> None:
    """Write every ENTITY record (or those matching --where) to a .csv or .xlsx file."""
    from .. import exporting  # with openpyxl and the UI's field labels: loaded only to export

    target = Path(output)
    fmt = target.suffix.lower().removeprefix(".")
    if fmt not in exporting.FORMATS:
        raise UserError(f"{output}: the file name must end in .csv or .xlsx")
    started = exporting.export_records(
        site, CLI_ACTOR, entity, fmt, filters=_filters(where), sort=sort, headers="labels" if labels else "names"
    )
    partial = target.with_name(target.name + ".part")
    try:
        written = started.write(partial)
        os.replace(partial, target)
    except OSError as exc:
        raise UserError(f"{output}: {exc.strerror or exc}") from None
    finally:
        partial.unlink(missing_ok=True)
    click.echo(f"exported {written} {entity} to {output}")
