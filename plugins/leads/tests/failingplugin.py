"""A stand-in for ``pipeline`` that writes, then fails: the whole conversion must leave nothing behind."""

from __future__ import annotations

from typing import Any

from kernel import Conflict, hookimpl

NAME = "leadsfailtest"
REQUIRES: tuple[str, ...] = ()


@hookimpl(optionalhook=True)
def leads_open_opportunity(site: Any, conn: Any, actor: Any, lead: dict[str, Any], customer_id: int, contact_id: int | None) -> int:
    site.records.create(actor, "tasks", {"title": "half an opportunity", "customer_id": customer_id}, conn=conn)
    raise Conflict("the pipeline is closed for the year")
