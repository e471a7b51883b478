"""``crm export``: an entity's records to a CSV or XLSX file, through :mod:`kernel.exporting`."""

from __future__ import annotations

import os
from pathlib import Path

import click

from ..i18n import counted
from ..settings import LOCALES
from ..site import Site
from ..timezones import ZONE_HINT, is_zone, zone
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
@click.option("--raw", is_flag=True, help="For programs and re-import: field names as headers, stored codes, ids, ISO 8601 times in UTC.")
@click.option("--labels", is_flag=True, help="With --raw: headers are the fields' labels instead of their names.")
@click.option("--lang", type=click.Choice(LOCALES), default=None, help="The language of labels and yes/no (default: the site's default_locale).")
@click.option("--time-zone", "time_zone", default=None, metavar="ZONE", help="The zone times are shown in (default: the site's time_zone).")
@pass_site
def export(
    site: Site, entity: str, output: str, where: tuple[str, ...], sort: str | None, raw: bool, labels: bool, lang: str | None, time_zone: str | None
) -> None:
    """Write every ENTITY record (or those matching --where) to a .csv or .xlsx file.

    The file is for people: the fields' labels, names instead of ids, option labels,
    yes/no and local times. --raw writes what programs and 'crm import' read back.
    """
    from .. import exporting  # with openpyxl and the UI's field labels: loaded only to export

    target = Path(output)
    fmt = target.suffix.lower().removeprefix(".")
    if fmt not in exporting.FORMATS:
        raise UserError(f"{output}: the file name must end in .csv or .xlsx")
    if time_zone is not None and not is_zone(time_zone):
        raise UserError(f"--time-zone {time_zone!r}: use {ZONE_HINT}")
    started = exporting.export_records(
        site, CLI_ACTOR, entity, fmt, filters=_filters(where), sort=sort, raw=raw,
        headers="labels" if labels or not raw else "names", locale=lang, tz=zone(time_zone) if time_zone else None,
    )
    partial = target.with_name(target.name + ".part")
    try:
        written = started.write(partial)
        os.replace(partial, target)
    except OSError as exc:
        raise UserError(f"{output}: {exc.strerror or exc}") from None
    finally:
        partial.unlink(missing_ok=True)
    click.echo(f"exported {counted(written, site.view.entity(entity).unit)} to {output}")
