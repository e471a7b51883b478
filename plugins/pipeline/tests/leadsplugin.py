"""A stand-in for ``leads``: offers ``leads_open_opportunity`` and calls it as a conversion would."""

from __future__ import annotations

from typing import Any

from kernel import Actor, Site

from . import leadsspecs

NAME = "leadsstandin"
REQUIRES = ("customers",)
HOOKSPECS = leadsspecs


def convert(site: Site, actor: Actor, lead: dict[str, Any], customer_id: int, contact_id: int | None) -> int | None:
    """What ``leads`` does on convert: ask for an opportunity in the conversion's transaction."""
    with site.engine.begin() as conn:
        return site.view.pm.hook.leads_open_opportunity(site=site, conn=conn, actor=actor, lead=lead, customer_id=customer_id,
                                                        contact_id=contact_id)
