"""The public sea (公海): customers of the ``customers`` plugin waiting in seas of the ``pools`` engine.

Public API for other plugins (``pipeline``, ``orders``), which list ``"sea"`` in ``REQUIRES``:
answer the hook ``sea_customer_closed_ids`` (:mod:`plugins.sea.hookspecs`), and call
:func:`customers_closed` in the transaction that wins a deal or records a payment.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from plugins.pools import mark_closed

from .kind import CONTACT_FIELDS, CUSTOMER_FIELDS, KIND

if TYPE_CHECKING:
    import sqlalchemy as sa

    from kernel import Site


def customers_closed(site: Site, conn: sa.Connection, ids: Sequence[int]) -> int:
    """Customers ``ids`` were just closed (a won deal, a paid order): at once they stop counting against
    their owners' claim limits and their return deadlines are dropped (without this call the return job
    finds out through ``sea_customer_closed_ids`` when a deadline comes). Returns how many changed."""
    return mark_closed(site, conn, "customers", list(ids))


__all__ = ["CONTACT_FIELDS", "CUSTOMER_FIELDS", "customers_closed", "KIND"]
