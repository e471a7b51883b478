"""Hooks the ``sea`` plugin offers (``HOOKSPECS`` of its plugin module); an implementation lists
``"sea"`` in its ``REQUIRES`` and may take only the arguments it uses."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernel import hookspec

if TYPE_CHECKING:
    import sqlalchemy as sa

    from kernel import Site


@hookspec
def sea_customer_closed_ids(site: Site, conn: sa.Connection, ids: list[int]) -> list[int] | set[int] | None:
    """Return those of the customer ``ids`` that are closed: a won opportunity (``pipeline``) or a paid
    order (``orders``). Answer for all ids in one query. A closed customer no longer counts against its
    owner's claim limit and is never returned by the sea's deal deadline (``close_days``). Answers are united.
    """
