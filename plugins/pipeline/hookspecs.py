"""Hooks the ``pipeline`` plugin offers (``HOOKSPECS`` of its plugin module). A plugin that does not
list ``"pipeline"`` in its ``REQUIRES`` implements them with ``@hookimpl(optionalhook=True)``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernel import hookspec

if TYPE_CHECKING:
    import sqlalchemy as sa

    from kernel import Actor, Site


@hookspec
def pipeline_outcome_changed(site: Site, conn: sa.Connection, actor: Actor, opportunity: dict, previous: str, outcome: str) -> None:  # type: ignore[type-arg]
    """In the move's transaction, after an opportunity's outcome changed (e.g. open → won)."""
