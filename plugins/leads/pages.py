"""The plugin's page under ``/p/leads``: the convert dialog. It shows what converting will create —
the customer (or the look-alike customer to attach to, found by the duplicate check), the contact,
the opportunity when a plugin opens one — and what moves along (follow-ups, tasks); ``POST`` runs
the ``convert`` action. Lists, pools with their Claim buttons and "my leads" are the kernel's and
the pools' pages."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from kernel import RecordError, optional_id
from kernel.ui import check_form, render, ui_of

from .conversion import contact_values, convertible, customer_values, opportunity_offered

if TYPE_CHECKING:
    from kernel import Actor, Site
    from kernel.ui import UI


def pages() -> list[BaseRoute]:
    return [Route("/convert/{id:int}", convert_page, methods=["GET", "POST"])]


def lookalike_customers(site: Site, actor: Actor, lead: dict[str, Any]) -> list[dict[str, Any]]:
    """Customers the actor may see that look like the lead (company, phone or email), to attach it to."""
    found = site.records.find_duplicates(actor, "leads", [lead])[0]
    ids = found.ids("customers")
    if not ids:
        return []
    return site.records.list(actor, "customers", filters={"id__in": ids}, sort=["name", "id"], limit=20).items


def moving(site: Site, lead_id: int) -> dict[str, int]:
    """How many follow-ups and tasks of the lead move to the customer."""
    counts = {}
    with site.engine.connect() as conn:
        for name in ("followups", "tasks"):
            entity = site.view.entity(name)
            if entity is not None:
                table = entity.table
                counts[name] = conn.scalar(sa.select(sa.func.count()).select_from(table).where(
                    table.c.entity == "leads", table.c.record_id == lead_id)) or 0
    return counts


def _refusal(ui: UI, exc: RecordError) -> str:
    explained = ui.explain(exc, "leads")
    details = [str(d.get("msg")) for d in explained.details or [] if d.get("msg")]
    text = str(explained.message)
    return f"{text} ({details[0]})" if details and details[0] not in text else text


async def convert_page(request: Request) -> Response:
    ui = ui_of(request)
    site, actor = ui.site, ui.actor
    lead = site.records.get(actor, "leads", request.path_params["id"])
    matches = lookalike_customers(site, actor, lead) if lead["status"] != "converted" else []
    error, status, chosen, with_opportunity = None, 200, "new", False
    offered = opportunity_offered(site)
    if request.method == "POST":
        form = await check_form(request)
        chosen = str(form.get("target") or "new")
        with_opportunity = offered and form.get("create_opportunity") == "1"
        customer_id = None if chosen == "new" else optional_id(chosen)
        if chosen != "new" and customer_id is None:
            error, status = ui.gettext("Choose a new customer or one of the customers listed."), 422
        else:
            try:
                done = site.records.act(actor, "leads", lead["id"], "convert", {"create_opportunity": with_opportunity, "customer_id": customer_id})
            except RecordError as exc:
                error, status = _refusal(ui, exc), exc.status
            else:
                return ui.redirect(f"/r/customers/{done['customer_id']}")
    owner = lead.get("owner_id") or actor.user_id
    response = render(
        request, "leads/convert.html", lead=lead, matches=matches, chosen=chosen, error=error, offered=offered,
        with_opportunity=with_opportunity, customer=customer_values(site, lead, owner), contact=contact_values(lead, 0, True),
        moving=moving(site, lead["id"]), convertible=lead["status"] in convertible(site), converted=lead["status"] == "converted",
    )
    response.status_code = status
    return response
