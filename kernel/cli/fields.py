"""``crm fields``: admin-defined custom fields, through :mod:`kernel.fielddefs`."""

from __future__ import annotations

import json
from typing import Any

import click

from .. import fielddefs
from ..site import Site
from .group import CLI_ACTOR, UserError, pass_site
from .output import echo_table


@click.group()
def fields() -> None:
    """Custom fields of an entity."""


@fields.command("list")
@click.argument("entity")
@pass_site
def fields_list(site: Site, entity: str) -> None:
    """Show ENTITY's custom fields."""
    echo_table(
        ("field", "kind", "indexed", "label", "label (zh_CN)"),
        (
            (f["name"], f["kind"], "yes" if f["indexed"] else "no", f["label"].get("en"), f["label"].get("zh_CN"))
            for f in fielddefs.list_fields(site, entity)
        ),
    )


@fields.command("add")
@click.argument("entity")
@click.argument("name")
@click.option(
    "--schema", "schema_text", required=True, metavar="JSON", help='A JSON Schema fragment, e.g. \'{"type": "integer"}\'.'
)
@click.option("--label", help="English label (also used in Chinese unless --label-zh is given).")
@click.option("--label-zh", help="Chinese (zh_CN) label.")
@click.option("--indexed", is_flag=True, help="Build a database index for filtering and sorting on it.")
@pass_site
def fields_add(
    site: Site, entity: str, name: str, schema_text: str, label: str | None, label_zh: str | None, indexed: bool
) -> None:
    """Add custom field NAME to ENTITY."""
    try:
        schema = json.loads(schema_text)
    except json.JSONDecodeError as exc:
        raise UserError(f"--schema: not valid JSON ({exc})") from None
    labels: Any = label
    if label_zh is not None:
        labels = {"en": label or name.replace("_", " ").capitalize(), "zh_CN": label_zh}
    added = fielddefs.add_field(site, CLI_ACTOR, entity, name, schema, label=labels, indexed=indexed)
    click.echo(f"added {entity}.{added['name']} ({added['kind']}{', indexed' if added['indexed'] else ''})")


@fields.command("remove")
@click.argument("entity")
@click.argument("name")
@click.option("--purge", is_flag=True, help="Also delete every stored value; cannot be undone.")
@click.option("--yes", is_flag=True, help="Do not ask before purging.")
@pass_site
def fields_remove(site: Site, entity: str, name: str, purge: bool, yes: bool) -> None:
    """Remove custom field NAME from ENTITY; its values are kept unless --purge."""
    if purge and not yes:
        click.confirm(f"Delete every stored value of {entity}.{name}? This cannot be undone", abort=True)
    fielddefs.remove_field(site, CLI_ACTOR, entity, name, purge=purge)
    click.echo(f"{'purged' if purge else 'removed (values kept)'}: {entity}.{name}")


@fields.command("index")
@click.argument("entity")
@click.argument("name")
@click.option("--drop", is_flag=True, help="Drop the index instead.")
@pass_site
def fields_index(site: Site, entity: str, name: str, drop: bool) -> None:
    """Build (or --drop) the database index of custom field NAME."""
    fielddefs.set_indexed(site, CLI_ACTOR, entity, name, not drop)
    click.echo(f"{entity}.{name}: {'index dropped' if drop else 'indexed'}")
