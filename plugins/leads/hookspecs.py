"""Hooks the ``leads`` plugin offers (``HOOKSPECS`` of its plugin module).

An implementation of a plugin that does not list ``"leads"`` in ``REQUIRES`` (``pipeline``) marks
itself ``@hookimpl(optionalhook=True)`` and never imports this plugin. All hooks are called by
keyword; an implementation may take only the arguments it uses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kernel import hookspec

if TYPE_CHECKING:
    import sqlalchemy as sa

    from kernel import Actor, Site


@hookspec(firstresult=True)
def leads_open_opportunity(site: Site, conn: sa.Connection, actor: Actor, lead: dict[str, Any], customer_id: int, contact_id: int | None) -> int | None:
    """During POST /api/v1/leads/{id}/convert with "create_opportunity": true, inside the conversion's transaction:
    create an opportunity for the converted lead and return its id. Raising aborts the whole conversion."""
