"""Hooks the ``pools`` plugin offers (``HOOKSPECS`` of its plugin module).

A plugin implementing them lists ``"pools"`` in its ``REQUIRES``. All hooks are called by keyword;
an implementation may take only the arguments it uses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kernel import hookspec

if TYPE_CHECKING:
    import sqlalchemy as sa

    from kernel import Site

    from .kinds import PoolKind
    from .strategies import Strategy


@hookspec
def pools_register_kinds() -> list[PoolKind] | None:
    """Return the :class:`~plugins.pools.PoolKind` objects this plugin declares: its entities that wait in pools.

    The plugin also hands the kind to the registrations the kernel collects at start-up
    (``register_entity_actions``, ``register_masks``, ``register_timers``) through
    :func:`plugins.pools.entity_actions`, :func:`~plugins.pools.masks` and :func:`~plugins.pools.timers`.
    """


@hookspec
def pools_closed_ids(site: Site, conn: sa.Connection, entity: str, ids: list[int]) -> list[int] | set[int] | None:
    """Return those of ``ids`` (records of ``entity``) that are closed: a converted lead, a customer with a
    won deal or a paid order. Answer for all ids in one query. Closed records stop counting against a
    member's claim limit and are never returned by the close deadline. Answers are united.
    """


@hookspec
def pools_assignment_strategies() -> list[Strategy] | None:
    """Return :class:`~plugins.pools.Strategy` objects: ways to choose owners for records entering a pool,
    besides the built-in ``manual``, ``round_robin``, ``least_loaded`` and ``rules``."""


@hookspec
def pools_after_change(site: Site, conn: sa.Connection, entity: str, action: str, changes: list[dict[str, Any]]) -> None:
    """Records of ``entity`` changed hands through a pool, inside the write transaction.

    ``action`` is ``claim``, ``assign``, ``release``, ``transfer`` or ``return``; each change is
    ``{"record_id", "pool_id", "from_owner", "to_owner", "reason", "rule"}``.
    """
