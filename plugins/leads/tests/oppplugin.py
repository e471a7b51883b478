"""Stand-ins for ``pipeline`` in the tests: one opens an "opportunity" (a task on the new customer,
whose id it returns), the other fails halfway, after writing, so the conversion must roll back."""

from __future__ import annotations

from typing import Any

from kernel import hookimpl

NAME = "leadsopptest"
REQUIRES: tuple[str, ...] = ()


@hookimpl(optionalhook=True)
def leads_open_opportunity(site: Any, conn: Any, actor: Any, lead: dict[str, Any], customer_id: int, contact_id: int | None) -> int:
    task = site.records.create(actor, "tasks", {"title": f"商机：{lead['name']}", "customer_id": customer_id}, conn=conn)
    return int(task["id"])
