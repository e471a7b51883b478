"""Converting a lead (``POST /api/v1/leads/{id}/convert``): a customer and a contact — or a contact
on an existing customer — and an opportunity when a plugin answers ``leads_open_opportunity``; the
lead's follow-ups and tasks move to the customer; the lead becomes ``converted`` with links to what
it became. The lead's custom values go along to the new customer and contact wherever they have a
custom field of the same name and the same definition (a ``campaign_code`` text field on leads and on customers).
All in the action's one transaction: a refusal anywhere leaves nothing behind."""

from __future__ import annotations

from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from kernel import N_, Conflict, NotFound, ValidationError, jsonable
from plugins.pools import mark_closed

if TYPE_CHECKING:
    from pydantic import BaseModel

    from kernel import Actor, Site

#: Set while the convert action writes the lead's links (the only writer allowed, see lifecycle.LINKS).
CONVERTING: ContextVar[bool] = ContextVar("leads_converting", default=False)
#: States a lead may be converted from (an unowned ``new`` lead is claimed first).
CONVERTIBLE = ("assigned", "contacting", "qualified")


def convertible(site: Site) -> tuple[str, ...]:
    """The states a lead converts from (the ``convert_only_qualified`` setting)."""
    return ("qualified",) if site.plugin_config("leads").get("convert_only_qualified") else CONVERTIBLE


def opportunity_offered(site: Site) -> bool:
    """Whether an enabled plugin opens opportunities on conversion (the dialog offers it only then)."""
    return bool(site.view.pm.hook.leads_open_opportunity.get_hookimpls())


def customer_values(site: Site, lead: dict[str, Any], owner_id: int | None) -> dict[str, Any]:
    """The new customer: the lead's company (or, without one, the person as an individual customer)."""
    company = (lead.get("company") or "").strip()
    values: dict[str, Any] = {
        "name": company or lead["name"], "kind": "company" if company else "individual",
        "phone": lead.get("phone"), "email": lead.get("email"), "region": lead.get("region"),
        "industry": lead.get("industry"), "owner_id": owner_id,
    }
    sources = site.view.option_lists.get("customers.source")
    if lead.get("source") and sources is not None and any(o.code == lead["source"] for o in sources.options):
        values["source"] = lead["source"]
    return {k: v for k, v in values.items() if v is not None}


def carried_custom(site: Site, lead: dict[str, Any], entity: str) -> dict[str, Any]:
    """The lead's custom values that ``entity`` has a custom field for of the same name and definition
    (type, options, limits: so the value is valid there too); others stay on the lead only."""
    mine, theirs = site.view.fields("leads"), site.view.fields(entity)
    return {
        name: value for name, value in (lead.get("custom") or {}).items()
        if value is not None and name in mine and name in theirs and _definition(mine[name]) == _definition(theirs[name])
    }


def _definition(field: Any) -> dict[str, Any]:
    """What a custom field accepts: its value schema without its words (title, description) and default."""
    return {k: v for k, v in field.value_schema.items() if k not in ("title", "description", "default")}


def contact_values(lead: dict[str, Any], customer_id: int, primary: bool) -> dict[str, Any]:
    values = {"customer_id": customer_id, "name": lead["name"], "title": lead.get("title"), "phone": lead.get("phone"),
              "email": lead.get("email"), "wechat": lead.get("wechat"), "is_primary": primary}
    return {k: v for k, v in values.items() if v is not None}


def _attached_customer(site: Site, conn: sa.Connection, actor: Actor, customer_id: int) -> dict[str, Any]:
    try:
        return site.records.get(actor, "customers", customer_id, conn=conn)
    except NotFound:
        raise ValidationError.at(["customer_id"], N_("no customer with this id that you may see")) from None


def _move_activities(site: Site, conn: sa.Connection, actor: Actor, lead_id: int, customer_id: int) -> dict[str, list[int]]:
    """The lead's follow-ups and tasks now belong to the customer (one update per entity)."""
    moved: dict[str, list[int]] = {}
    elevated = actor.elevated("convert")
    for entity in ("followups", "tasks"):
        known = site.view.entity(entity)
        if known is None:
            continue
        table = known.table
        ids = list(conn.scalars(sa.select(table.c.id).where(table.c.entity == "leads", table.c.record_id == lead_id).order_by(table.c.id)))
        if ids:
            site.records.update_many(elevated, entity, ids=ids, changes={"customer_id": customer_id, "entity": None, "record_id": None}, conn=conn)
        moved[entity] = ids
    return moved


def convert(site: Site, conn: sa.Connection, actor: Actor, lead: dict[str, Any], *, create_opportunity: bool = False,
            customer_id: int | None = None) -> dict[str, Any]:
    """Convert ``lead`` (as ``actor`` sees it) inside ``conn``'s transaction; returns the three ids."""
    if lead["status"] == "converted" or lead.get("customer_id") is not None:
        raise Conflict(N_("this lead is already converted"), [{"loc": ["status"], "msg": "converted", "customer_id": lead.get("customer_id")}])
    allowed = convertible(site)
    if lead["status"] not in allowed:
        raise Conflict(
            N_("this lead cannot be converted in its current state"),
            [{"loc": ["status"], "msg": f"is {lead['status']}; converts from {', '.join(allowed)}", "allowed": list(allowed)}],
        )
    owner_id = lead.get("owner_id") or actor.user_id
    if customer_id is not None:
        customer = _attached_customer(site, conn, actor, customer_id)
        has_primary = bool(conn.scalar(sa.select(sa.func.count()).select_from(site.view.entities["contacts"].table).where(
            site.view.entities["contacts"].table.c.customer_id == customer["id"], site.view.entities["contacts"].table.c.is_primary.is_(True))))
    else:
        values = customer_values(site, lead, owner_id)
        if custom := carried_custom(site, lead, "customers"):
            values["custom"] = custom
        customer = site.records.create(actor, "customers", values, conn=conn)
        has_primary = False
    values = contact_values(lead, customer["id"], not has_primary)
    if custom := carried_custom(site, lead, "contacts"):
        values["custom"] = custom
    contact = site.records.create(actor, "contacts", values, conn=conn)
    opportunity_id = None
    if create_opportunity and opportunity_offered(site):
        opportunity_id = site.view.pm.hook.leads_open_opportunity(
            site=site, conn=conn, actor=actor, lead=dict(lead), customer_id=customer["id"], contact_id=contact["id"])
    _move_activities(site, conn, actor, lead["id"], customer["id"])
    links = {"status": "converted", "customer_id": customer["id"], "contact_id": contact["id"], "opportunity_id": opportunity_id,
             "converted_at": site.clock.now()}
    token = CONVERTING.set(True)
    try:
        site.records.update(actor.elevated("convert"), "leads", lead["id"], links, conn=conn)
    finally:
        CONVERTING.reset(token)
    mark_closed(site, conn, "leads", [lead["id"]])
    return {"customer_id": customer["id"], "contact_id": contact["id"], "opportunity_id": opportunity_id}


def convert_action(site: Site, conn: sa.Connection, actor: Actor, entity: str, record: dict[str, Any], body: BaseModel) -> dict[str, Any]:
    """The ``convert`` action's handler (body :class:`~plugins.leads.fields.ConvertBody`)."""
    answer = convert(site, conn, actor, record, create_opportunity=bool(getattr(body, "create_opportunity", False)),
                     customer_id=getattr(body, "customer_id", None))
    return jsonable(answer)  # type: ignore[no-any-return]
