"""A converted lead opens an opportunity (the ``leads_open_opportunity`` hook offered by ``leads``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .stages import ENTITY, default_pipeline_id, stages_of

if TYPE_CHECKING:
    import sqlalchemy as sa

    from kernel import Actor, Site

SOURCES = "customers.source"


def open_opportunity(site: Site, conn: sa.Connection, actor: Actor, lead: dict[str, Any], customer_id: int, contact_id: int | None) -> int:
    """Create the lead's opportunity in the default pipeline's first stage, in the conversion's transaction; its id."""
    pipeline_id = default_pipeline_id(site, conn)
    first = stages_of(site, conn, pipeline_id)[0]
    name = (lead.get("company") or lead.get("name") or "").strip() or f"#{lead.get('id')}"
    values: dict[str, Any] = {
        "name": name[:200],
        "customer_id": customer_id,
        "contact_ids": [contact_id] if contact_id else [],
        "pipeline_id": pipeline_id,
        "stage": first.key,
        "source": _source(site, lead.get("source")),
        "lead_id": lead.get("id"),
    }
    if lead.get("owner_id"):
        values["owner_id"] = lead["owner_id"]
    created = site.records.create(actor, ENTITY, values, conn=conn)
    return int(created["id"])


def _source(site: Site, value: Any) -> str | None:
    """The lead's source as a code of the opportunities' source list (a source the list lacks is left out)."""
    listed = (getattr(site.view, "option_lists", None) or {}).get(SOURCES)
    if listed is None or not value:
        return None
    found = listed.resolve(value)
    return None if found is None else found.code
