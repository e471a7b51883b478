"""``crm leads capture-mail FILE.eml [--pool ID]``: a lead from an email (``-`` reads standard input,
so a mail server can pipe each message of a lead address to it). Prints the new lead's id, and the
look-alikes when it looks like a known lead or customer (flagged, still created)."""

from __future__ import annotations

import sys
from typing import Any

import click

from kernel import ValidationError

from .capture import capture_mail


def _site() -> Any:
    """The invocation's site (the ``crm`` group builds it from ``--config`` / ``crm.toml``)."""
    state = click.get_current_context().find_root().obj
    if state is None or not hasattr(state, "site"):
        raise click.UsageError("this command must run under 'crm'")
    return state.site()


@click.group("leads")
def leads_group() -> None:
    """Leads: capture from email."""


@leads_group.command("capture-mail")
@click.argument("file", type=click.File("rb"))
@click.option("--pool", "pool_id", type=click.IntRange(min=1), default=None, help="The lead pool (default: the routing rules decide).")
def capture_mail_command(file: Any, pool_id: int | None) -> None:
    """Create a lead from the email message FILE (.eml; - for standard input)."""
    raw = file.read()
    if not raw.strip():
        raise ValidationError.at(["file"], "is empty")
    record = capture_mail(_site(), raw, pool_id=pool_id)
    click.echo(f"lead {record['id']}: {record['name']} <{record.get('email') or ''}>")
    for warning in record.get("warnings") or []:
        ids = ", ".join(f"#{i}" for i in warning.get("ids") or [])
        others = ", ".join(f"{r['entity']} #{r['id']}" for r in warning.get("records") or [])
        click.echo(f"looks like: {', '.join(x for x in (ids, others) if x) or '-'}", file=sys.stdout)
