"""Hooks the ``customers`` plugin offers to other plugins (``HOOKSPECS`` of its plugin module).

A plugin that implements them lists ``"customers"`` in its ``REQUIRES`` and
never imports this plugin's internals: everything it needs arrives as arguments.
All hooks are called by keyword; an implementation may take only the arguments it uses.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from kernel import hookspec

if TYPE_CHECKING:
    import sqlalchemy as sa

    from kernel import Actor, Site


@hookspec
def customers_timeline_entries(
    site: Site, conn: sa.Connection, actor: Actor, customer_id: int, limit: int
) -> list[dict[str, Any]] | None:
    """Return up to ``limit`` of the newest entries this plugin adds to a customer's timeline.

    Each entry is ``{"at": datetime, "kind": "order", "title": "...", "entity": "orders",
    "record_id": 7, "data": {...}}``; ``at`` is timezone-aware, ``data`` JSON-able. The
    customer is one ``actor`` may see; leave out rows ``actor`` may not.
    """


@hookspec
def customers_purchase_summary(
    site: Site, conn: sa.Connection, customer_ids: list[int], since: datetime | None, until: datetime | None
) -> dict[int, dict[str, Any]] | None:
    """Return purchases of ``customer_ids`` made in ``[since, until)`` (``None``: unbounded), by customer id.

    Each value is ``{"count": N, "amount": Decimal|float, "currency": "CNY", "first_at": datetime|None,
    "last_at": datetime|None}``;
    leave out customers without purchases. Used for lifetime value and churn signals,
    so answer for all ids in one query.
    """


@hookspec
def customers_merge_related(
    site: Site, conn: sa.Connection, actor: Actor, survivor_id: int, merged_id: int
) -> dict[str, Any] | None:
    """Move this plugin's rows of customer ``merged_id`` to ``survivor_id``, inside the merge's transaction.

    Return a JSON-able description of what moved (e.g. ``{"orders": [4, 9]}``): it is kept
    with the merge and handed back to ``customers_unmerge_related``. Write through
    ``site.records`` with ``conn=conn`` as ``actor``: the merging user, with record rules
    lifted (the merge was authorized on both customers). Raising refuses the whole merge.
    """


@hookspec
def customers_related_counts(site: Site, conn: sa.Connection, customer_id: int) -> dict[str, int] | None:
    """Return how many of this plugin's records belong to customer ``customer_id``, by entity name.

    ``{"orders": 3}``: the merge dialog tells the user these move along with the customer
    (through ``customers_merge_related``) before they confirm.
    """


@hookspec
def customers_unmerge_related(
    site: Site, conn: sa.Connection, actor: Actor, survivor_id: int, merged_id: int, moved: dict[str, Any]
) -> None:
    """Move back the rows this plugin reported as ``moved`` when the merge is undone.

    ``merged_id`` exists again (same id) when this is called. Rows deleted since the
    merge are simply skipped.
    """


@hookspec
def customers_followed_up(site: Site, conn: sa.Connection, actor: Actor, entity: str, record_id: int, at: datetime) -> None:
    """A follow-up was written on record ``record_id`` of ``entity`` (not a customer) at ``at``.

    The plugin owning ``entity`` updates its ``last_followed_at`` (through ``site.records``
    with ``conn=conn``) so its own rules (lead recycling, sea return) see the activity.
    """
