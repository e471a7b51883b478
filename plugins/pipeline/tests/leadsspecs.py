"""The hook ``leads`` will offer, exactly as its spec reads, for a stand-in in these tests."""

from __future__ import annotations

from typing import Any

from kernel import hookspec


@hookspec(firstresult=True)
def leads_open_opportunity(site: Any, conn: Any, actor: Any, lead: dict, customer_id: int, contact_id: int | None) -> int | None:  # type: ignore[type-arg]
    """Open an opportunity for a converted lead; its id, or None when no plugin does."""
